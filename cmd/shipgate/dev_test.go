package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// makeRunArgs are the arguments `make run` gives shipgate: the run target's recipe in the Makefile,
// after the package it runs, so that the test follows the Makefile.
func makeRunArgs(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	_, recipe, ok := strings.Cut(string(data), "\nrun:\n")
	if !ok {
		t.Fatal("the Makefile has no run target")
	}
	line, _, _ := strings.Cut(recipe, "\n")
	fields := strings.Fields(line)
	i := slices.Index(fields, "./cmd/shipgate")
	if !strings.HasPrefix(line, "\t") || i < 0 {
		t.Fatalf("the run target's recipe %q does not run ./cmd/shipgate", line)
	}
	return fields[i+1:]
}

// What --dev's hint says, found by how it says it.
var (
	hintURL          = regexp.MustCompile(`open (http://127\.0\.0\.1:\d+)\n`)
	hintConsoleToken = regexp.MustCompile(`with the access token (\S+) and`)
	hintExport       = regexp.MustCompile(`(?m)^\s+(export SHIPGATE_SERVER=.*)$`)
)

// `make run` on a fresh clone serves the example project with the console and an API token that it
// makes and prints: the printed curl command starts a delivery, the README's `shipgate trigger --wait`
// waits for production's approval, someone without the approver role is refused it in the console,
// and an approver's click there lets the delivery finish.
func TestMakeRunServesExampleProject(t *testing.T) {
	args := makeRunArgs(t)
	data := filepath.Join(t.TempDir(), "run")
	t.Setenv("SHIPGATE_DATA_DIR", data)
	t.Chdir("../..") // make runs it from the top of the repository
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	errOut := &lockedBuffer{}
	served := make(chan int, 1)
	go func() {
		served <- run(ctx, append(args, "--listen", "127.0.0.1:0"), pw, errOut)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-served:
			if code != exitOK {
				t.Errorf("make run's shipgate exited %d after it was stopped:\n%s", code, errOut)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("make run's shipgate did not stop:\n%s", errOut)
		}
	})
	// What it prints up to its last line of instructions, or until it exits.
	printed := make(chan string, 1)
	go func() {
		var b strings.Builder
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			b.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "Stop with Ctrl-C.") {
				break
			}
		}
		printed <- b.String()
		_, _ = io.Copy(io.Discard, pr)
	}()
	var hint string
	select {
	case hint = <-printed:
	case <-time.After(time.Minute):
		t.Fatalf("make run printed no instructions within a minute; it logged:\n%s", errOut)
	}
	m, tok := hintURL.FindStringSubmatch(hint), hintConsoleToken.FindStringSubmatch(hint)
	exp := hintExport.FindStringSubmatch(hint)
	if m == nil || tok == nil || exp == nil {
		t.Fatalf("make run printed no URL, console token or export line:\n%s\nand logged:\n%s", hint, errOut)
	}
	base, consoleToken := m[1], tok[1]

	// The tokens were made now, in the data folder, and are the ones printed.
	ciToken := ""
	for _, w := range shellWords(t, exp[1])[1:] {
		name, value, _ := strings.Cut(w, "=")
		t.Setenv(name, value)
		if name == "SHIPGATE_TOKEN" {
			ciToken = value
		}
	}
	for file, want := range map[string]string{"console-token": consoleToken, "ci-token": ciToken} {
		if got, err := readTokenFile(filepath.Join(data, file)); err != nil || got != want {
			t.Errorf("%s holds %q (%v); the hint printed %q", file, got, err, want)
		}
	}
	if !strings.Contains(hint, "New tokens, made now") {
		t.Errorf("the hint does not say the tokens are new:\n%s", hint)
	}

	// People log in to the console with its token and the ids its roles name.
	ann, dana := consoleLogin(t, base, consoleToken, "ann"), consoleLogin(t, base, consoleToken, "dana")
	events := consoleEvents(t, ctx, ann, base)

	// CI, as the README's CI section has it, after the printed export line.
	triggered := make(chan int, 1)
	var trigOut, trigErr lockedBuffer
	ciArgs := readmeTriggerArgs(t)
	go func() {
		triggered <- run(ctx, ciArgs, &trigOut, &trigErr)
	}()
	approval := events.next(t, func(e consoleEvent) bool {
		return len(e.Message.Buttons) > 0 && e.Message.Buttons[0].ActionID == "deliver.approve"
	})
	button := approval.Message.Buttons[0]
	click := map[string]any{"channel": "fulltour", "messageId": approval.Message.ID, "actionId": button.ActionID, "value": button.Value}
	if reply := consolePost(t, dana, base+"/web/click", click); !strings.Contains(reply, "role approver") {
		t.Errorf("dana (deployer) clicked Approve and was answered %s; want a refusal naming the role approver", reply)
	}
	if reply := consolePost(t, ann, base+"/web/click", click); !strings.Contains(reply, "counted") {
		t.Fatalf("ann (approver) clicked Approve and was answered %s", reply)
	}
	select {
	case code := <-triggered:
		// The README shows "delivery 12: URL" on standard output and the progress on standard error.
		if code != exitOK || !regexp.MustCompile(`^delivery 1: \S+/api/v1/deliveries/1\n$`).MatchString(trigOut.String()) ||
			!strings.Contains(trigErr.String(), "delivery 1 finished: pass") {
			t.Fatalf("shipgate trigger --wait exited %d:\n%s%s", code, trigOut.String(), trigErr.String())
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("shipgate trigger --wait did not end after the approval:\n%s", trigErr.String())
	}

	findPrintedCurl(t, hint).startsDelivery(t, "fulltour")
}

// consoleLogin logs in to the console as id, and returns a client that holds the session.
func consoleLogin(t *testing.T, base, token, id string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	consolePost(t, c, base+"/web/login", map[string]string{"name": id, "token": token})
	return c
}

// consolePost sends what the console's page sends, and returns the answer; anything but 200 fails.
func consolePost(t *testing.T, c *http.Client, url string, body any) string {
	t.Helper()
	data, _ := json.Marshal(body)
	resp, err := c.Post(url, "application/json", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s = %d %s", url, resp.StatusCode, out)
	}
	return string(out)
}

// consoleEvent is one change the console's event stream sends a page.
type consoleEvent struct {
	Message struct {
		ID      string `json:"id"`
		Buttons []struct {
			ActionID string `json:"actionId"`
			Value    string `json:"value"`
		} `json:"buttons"`
	} `json:"message"`
}

// eventStream is a page's open event stream.
type eventStream struct{ sc *bufio.Scanner }

// consoleEvents opens the console's event stream for the fulltour channel, as a page does, and returns
// once the console has subscribed it, so that no later change is missed.
func consoleEvents(t *testing.T, ctx context.Context, c *http.Client, base string) *eventStream {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/web/events?channel=fulltour", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	s := &eventStream{sc: bufio.NewScanner(resp.Body)}
	s.sc.Buffer(nil, 1<<20)
	// The console subscribes the page before it answers; its first line comes after.
	if !s.sc.Scan() || !strings.HasPrefix(s.sc.Text(), "retry:") {
		t.Fatalf("the console's event stream began with %q, %v", s.sc.Text(), s.sc.Err())
	}
	return s
}

// next reads events until one satisfies cond.
func (s *eventStream) next(t *testing.T, cond func(consoleEvent) bool) consoleEvent {
	t.Helper()
	for s.sc.Scan() {
		raw, ok := strings.CutPrefix(s.sc.Text(), "data: ")
		if !ok {
			continue
		}
		var e consoleEvent
		if err := json.Unmarshal([]byte(raw), &e); err != nil {
			t.Fatalf("event %s: %v", raw, err)
		}
		if cond(e) {
			return e
		}
	}
	t.Fatalf("the console's event stream ended: %v", s.sc.Err())
	return consoleEvent{}
}

// --dev makes the token files a config names that do not exist yet, and leaves the others alone.
func TestCreateTokenFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "kept"), []byte("KEPT\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "shipgate.yaml")
	err := os.WriteFile(path, []byte(`web:
  access_token_file: secrets/console
api:
  tokens:
    - {name: ci, token_file: secrets/ci, projects: ["*"]}
    - {name: old, token_file: kept, projects: ["*"]}
    - {name: hashed, token_sha256: 0000000000000000000000000000000000000000000000000000000000000000, projects: ["*"]}
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	created, err := createTokenFiles(path)
	want := []string{filepath.Join(dir, "secrets", "console"), filepath.Join(dir, "secrets", "ci")}
	if err != nil || !slices.Equal(created, want) {
		t.Fatalf("createTokenFiles = %v, %v; want %v", created, err, want)
	}
	if tok, _ := readTokenFile(filepath.Join(dir, "kept")); tok != "KEPT" {
		t.Errorf("an existing token file now holds %q", tok)
	}
	if again, err := createTokenFiles(path); err != nil || len(again) != 0 {
		t.Errorf("a second createTokenFiles = %v, %v; want nothing made", again, err)
	}
	if created, err := createTokenFiles(filepath.Join(dir, "missing.yaml")); err != nil || created != nil {
		t.Errorf("createTokenFiles of a missing config = %v, %v; want nothing, and serve to report it", created, err)
	}
}

// readmeTriggerArgs returns the arguments of the `shipgate trigger` command in the README's CI section, so
// that the test runs the command the README gives, not a copy of it.
func readmeTriggerArgs(t *testing.T) []string {
	t.Helper()
	for _, b := range readmeBlocks(t, readmePath(t)) {
		joined := strings.ReplaceAll(strings.Join(b.lines, "\n"), "\\\n", " ")
		for _, line := range strings.Split(joined, "\n") {
			if fields := strings.Fields(line); len(fields) > 1 && fields[0] == "shipgate" && fields[1] == "trigger" {
				return fields[1:]
			}
		}
	}
	t.Fatal("README.md has no block with a shipgate trigger command")
	return nil
}
