package web

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/shipgate/shipgate/bot"
)

// staticFile is one of the page's files as the binary serves it.
func staticFile(t *testing.T, name string) string {
	t.Helper()
	raw, err := static.ReadFile("static/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// jsTable reads the keys and first values of one of app.js's lookup tables, `const NAME = { 'key':
// ['value', …], key: ['value', …], … };` or `{ key: 'value', … }`.
func jsTable(t *testing.T, js, name string) map[string]string {
	t.Helper()
	start := strings.Index(js, "const "+name+" = {")
	if start < 0 {
		t.Fatalf("app.js has no table %s", name)
	}
	block := js[start:]
	block = block[:strings.Index(block, "};")]
	entry := regexp.MustCompile(`(?m)(?:^|[{,])\s*'?([^'\s:{},]+)'?:\s*\[?'([a-z-]+)'`)
	out := map[string]string{}
	for _, m := range entry.FindAllStringSubmatch(block, -1) {
		out[m[1]] = m[2]
	}
	if len(out) == 0 {
		t.Fatalf("app.js's table %s is empty", name)
	}
	return out
}

// Every status symbol the bot writes has an icon of the console's own, so that none is left for an
// emoji font to draw (without one they all become the same empty box), and every stage state has one
// on the status line; each icon the tables name is in the page.
func TestStatusEmojiHaveIcons(t *testing.T) {
	js, page := staticFile(t, "app.js"), staticFile(t, "index.html")
	marks, states, icons := jsTable(t, js, "MARKS"), jsTable(t, js, "STATE_MARKS"), jsTable(t, js, "ICONS")

	sources, err := filepath.Glob(filepath.Join("..", "..", "bot", "*.go"))
	if err != nil || len(sources) == 0 {
		t.Fatalf("bot's sources: %v", err)
	}
	seen := map[rune]string{}
	for _, path := range sources {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range string(raw) {
			if unicode.Is(unicode.So, r) {
				seen[r] = filepath.Base(path)
			}
		}
	}
	if len(seen) == 0 {
		t.Fatal("no symbols found in bot's sources: the scan is broken")
	}
	for r, file := range seen {
		if _, ok := marks[string(r)]; !ok {
			t.Errorf("%s writes %q (U+%04X), which the console has no icon for (MARKS in app.js)", file, r, r)
		}
	}

	for _, s := range bot.StageStates() {
		if _, ok := states[string(s)]; !ok {
			t.Errorf("stage state %s has no icon on the status line (STATE_MARKS in app.js)", s)
		}
		if e := strings.TrimSuffix(s.Emoji(), "\uFE0F"); s != bot.StageNotReached {
			if _, ok := marks[e]; !ok {
				t.Errorf("stage state %s's emoji %q has no icon (MARKS in app.js)", s, e)
			}
		}
	}

	kinds := slices.Concat(mapValues(marks), mapValues(states), mapValues(jsTable(t, js, "ROW_MARKS")))
	slices.Sort(kinds)
	kinds = slices.Compact(kinds)
	for _, kind := range kinds {
		icon := kind
		if alias, ok := icons[kind]; ok {
			icon = alias
		}
		if !strings.Contains(page, `<svg data-icon="`+icon+`"`) {
			t.Errorf("no icon %q in index.html's template for the mark %q", icon, kind)
		}
	}
}

func mapValues(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// The console asks in its own dialogs (a button's confirmation, a rejection's reason): a browser
// dialog is not styled like the page, and the README's tour does not describe one.
func TestNoBrowserDialogs(t *testing.T) {
	js := staticFile(t, "app.js")
	for _, call := range []string{"window.confirm", "window.alert", "window.prompt", " confirm(", " alert(", " prompt("} {
		if strings.Contains(js, call) {
			t.Errorf("app.js calls %s", strings.TrimSpace(call))
		}
	}
}
