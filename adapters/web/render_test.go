package web

import (
	"flag"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shipgate/shipgate/bot"
	"github.com/shipgate/shipgate/bot/bottest"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/messages")

// TestGoldenMessages renders every message shape the bot pins (bot/testdata/messages) as the page
// receives it, and compares it with testdata/messages.
func TestGoldenMessages(t *testing.T) {
	for _, g := range bottest.Messages(t) {
		t.Run(g.Name, func(t *testing.T) {
			bottest.CompareJSON(t, filepath.Join("testdata", "messages", g.Name+".json"), render(g.Message), *updateGolden)
		})
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
