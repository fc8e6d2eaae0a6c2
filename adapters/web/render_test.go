package web

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/bot"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/messages")

// TestGoldenMessages renders every message shape the bot pins (bot/testdata/messages) as the page
// receives it, and compares it with testdata/messages.
func TestGoldenMessages(t *testing.T) {
	paths, err := filepath.Glob("../../bot/testdata/messages/*.json")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no bot golden messages: %v", err)
	}
	for _, path := range paths {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var m bot.Message
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		t.Run(name, func(t *testing.T) {
			compareGoldenJSON(t, filepath.Join("testdata", "messages", name+".json"), render(m))
		})
	}
}

func compareGoldenJSON(t *testing.T, path string, v any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./adapters/web -run Golden -update to write it)", err)
	}
	if !bytes.Equal(want, buf.Bytes()) {
		t.Errorf("%s differs (run with -update if intended):\n%s", path, buf.String())
	}
}

// Each row of a score table is marked with its status, for its colour; a table without a Status
// column marks none.
func TestTableRowStatus(t *testing.T) {
	w := render(bot.Message{Table: &bot.Table{Columns: []string{"Objective", "Status"}, Rows: [][]string{{"a", "fail"}, {"b", "warning"}, {"c", "odd"}, {"d"}}}})
	if got := strings.Join(w.Table.Status, ","); got != "fail,warning,," {
		t.Errorf("row status %q", got)
	}
	w = render(bot.Message{Table: &bot.Table{Columns: []string{"Objective"}, Rows: [][]string{{"a"}}}})
	if got := strings.Join(w.Table.Status, ","); got != "" {
		t.Errorf("row status without a Status column %q", got)
	}
}
