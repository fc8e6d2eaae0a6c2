package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// A word shellQuote makes is the same string again after a POSIX shell has read it, whatever it holds.
func TestShellQuoteSurvivesTheShell(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for _, s := range []string{
		"plain", "http://127.0.0.1:8080/api/v1/deliveries", "Authorization: Bearer ABC",
		`{"project":"fulltour","image":"ghcr.io/podtato-head/podtatoserver:v0.1.1"}`,
		"it's", "'", "''", `a\b`, "$HOME `id` $(id) *", "tab\there", "new\nline", "",
	} {
		out, err := exec.Command(sh, "-c", "printf %s "+shellQuote(s)).Output()
		if err != nil {
			t.Fatalf("sh -c printf %%s %s: %v", shellQuote(s), err)
		}
		if string(out) != s {
			t.Errorf("shellQuote(%q) = %s, which the shell reads as %q", s, shellQuote(s), out)
		}
	}
}

// A token file is made once, readable by its owner only, and kept at the next start.
func TestEnsureTokenFileKeepsTheFirstToken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data", "token")
	created, err := ensureTokenFile(path)
	if err != nil || !created {
		t.Fatalf("first ensureTokenFile = %v, %v; want a new file", created, err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("token file mode %v, want 0600", perm)
	}
	first, err := readTokenFile(path)
	if err != nil || len(first) < 20 || first != strings.TrimSpace(first) {
		t.Fatalf("token %q, %v: want a random token of 20 characters or more", first, err)
	}
	if created, err := ensureTokenFile(path); err != nil || created {
		t.Fatalf("second ensureTokenFile = %v, %v; want the file kept", created, err)
	}
	if again, _ := readTokenFile(path); again != first {
		t.Errorf("token changed from %q to %q", first, again)
	}
	other := filepath.Join(t.TempDir(), "token")
	if _, err := ensureTokenFile(other); err != nil {
		t.Fatal(err)
	}
	if tok, _ := readTokenFile(other); tok == first {
		t.Errorf("two token files hold the same token %q", tok)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readTokenFile(empty); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Errorf("readTokenFile of an empty file: %v, want an error saying it is empty", err)
	}
}

// printedCurl is the curl command a hint printed, as a shell reads it.
type printedCurl struct {
	line    string // as printed
	method  string
	url     string
	headers http.Header
	body    string
}

// findPrintedCurl takes the curl command out of what a hint printed: the one line that starts with
// curl. The test reads it as a shell would, so that a quoting mistake shows.
func findPrintedCurl(t *testing.T, out string) printedCurl {
	t.Helper()
	var lines []string
	for l := range strings.Lines(out) {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "curl ") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 1 {
		t.Fatalf("want one curl command in what was printed, found %d:\n%s", len(lines), out)
	}
	c := printedCurl{line: lines[0], method: http.MethodGet, headers: http.Header{}}
	words := shellWords(t, c.line)
	for i := 1; i < len(words); i++ {
		w := words[i]
		if strings.HasPrefix(w, "-") {
			if i+1 == len(words) {
				t.Fatalf("%s has no value in %s", w, c.line)
			}
			i++
		}
		switch w {
		case "-X":
			c.method = words[i]
		case "-H":
			name, value, ok := strings.Cut(words[i], ":")
			if !ok {
				t.Fatalf("header %q has no colon in %s", words[i], c.line)
			}
			c.headers.Add(name, strings.TrimSpace(value))
		case "-d":
			c.body = words[i]
		default:
			if strings.HasPrefix(w, "-") || c.url != "" {
				t.Fatalf("unexpected %q in %s", w, c.line)
			}
			c.url = w
		}
	}
	return c
}

// shellWords splits a command line as a POSIX shell does, for what hints print: plain words, single
// quotes, and backslash escapes outside them. Anything else a shell would expand fails the test.
func shellWords(t *testing.T, line string) []string {
	t.Helper()
	var words []string
	var cur strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case quoted:
			if ch == '\'' {
				quoted = false
			} else {
				cur.WriteByte(ch)
			}
		case ch == '\'':
			quoted, inWord = true, true
		case ch == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
			inWord = true
		case ch == ' ' || ch == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case strings.IndexByte("\"$`*?[]{}()<>|&;~#", ch) >= 0:
			t.Fatalf("%q in %s would be read by the shell, not passed on", ch, line)
		default:
			cur.WriteByte(ch)
			inWord = true
		}
	}
	if quoted {
		t.Fatalf("unterminated quote in %s", line)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// run runs the printed command: through sh with the real curl when it is installed (make deps installs
// it), else as the same request with Go's client. It returns the answer's status and body.
func (c printedCurl) run(t *testing.T) (int, []byte) {
	t.Helper()
	if _, err := exec.LookPath("curl"); err == nil {
		// The options appended after the printed command only show the status on a line of its own.
		out, err := exec.Command("sh", "-c", c.line+" -sS -w '\\n%{http_code}'").Output()
		if ee, ok := err.(*exec.ExitError); ok {
			t.Fatalf("%s: %v\n%s", c.line, err, ee.Stderr)
		} else if err != nil {
			t.Fatal(err)
		}
		i := bytes.LastIndexByte(out, '\n')
		status, err := strconv.Atoi(string(out[i+1:]))
		if i < 0 || err != nil {
			t.Fatalf("%s printed no status: %q", c.line, out)
		}
		return status, out[:i]
	}
	t.Logf("curl is not installed (make deps installs it): sending %s with Go's client", c.line)
	req, err := http.NewRequest(c.method, c.url, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = c.headers
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", c.line, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// startsDelivery runs the printed command and checks that it started a delivery: 202 with the new
// delivery's id, which the API then shows with the same token, requested by that token.
func (c printedCurl) startsDelivery(t *testing.T, wantProject string) {
	t.Helper()
	status, body := c.run(t)
	var created struct {
		ID  int64  `json:"id"`
		URL string `json:"url"`
	}
	if err := json.Unmarshal(body, &created); err != nil || status != http.StatusAccepted || created.ID == 0 {
		t.Fatalf("%s answered %d %s; want 202 with the new delivery", c.line, status, body)
	}
	base, _, _ := strings.Cut(c.url, "/api/")
	req, _ := http.NewRequest(http.MethodGet, base+created.URL, nil)
	req.Header.Set("Authorization", c.headers.Get("Authorization"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var d struct {
		ID      int64  `json:"id"`
		Project string `json:"project"`
		Source  string `json:"source"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s = %d, %v", created.URL, resp.StatusCode, err)
	}
	if d.ID != created.ID || d.Project != wantProject || d.Source != "api" {
		t.Errorf("delivery %+v, want #%d of %s started through the API", d, created.ID, wantProject)
	}
}
