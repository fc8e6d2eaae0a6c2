// Package bottest gives the chat adapters' tests what they share: the message shapes the bot pins in
// bot/testdata/messages, which every renderer renders, and comparison with golden JSON files.
package bottest

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/bot"
)

// Message is one pinned message shape: its name (the file's, without .json) and the message.
type Message struct {
	Name    string
	Message bot.Message
}

// Messages reads the bot's pinned message shapes, sorted by name.
func Messages(t testing.TB) []Message {
	t.Helper()
	_, here, _, _ := runtime.Caller(0)
	paths, err := filepath.Glob(filepath.Join(filepath.Dir(here), "..", "testdata", "messages", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no pinned messages in bot/testdata/messages: %v", err)
	}
	slices.Sort(paths)
	out := make([]Message, 0, len(paths))
	for _, path := range paths {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var m bot.Message
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, Message{Name: strings.TrimSuffix(filepath.Base(path), ".json"), Message: m})
	}
	return out
}

// CompareJSON compares v, as indented JSON, with the golden file at path, or rewrites the file when
// update is set (a test's -update flag).
func CompareJSON(t testing.TB, path string, v any, update bool) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	if update {
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
		t.Fatalf("%v (run the test with -update to write it)", err)
	}
	if !bytes.Equal(want, buf.Bytes()) {
		t.Errorf("%s differs (run the test with -update if intended):\n%s", path, buf.String())
	}
}
