package contract

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// recorder is a testing.TB that records what Check reports instead of failing the test. Fatalf and
// Skipf end the goroutine, as they do on a real test; run Check on it with run.
type recorder struct {
	testing.TB
	name string

	mu                          sync.Mutex
	errors, fatals, skips, logs []string
}

func newRecorder(t *testing.T, suffix string) *recorder {
	return &recorder{TB: t, name: t.Name() + "/" + suffix}
}

func (r *recorder) Helper()      {}
func (r *recorder) Name() string { return r.name }
func (r *recorder) Errorf(format string, args ...any) {
	r.add(&r.errors, format, args...)
}
func (r *recorder) Logf(format string, args ...any) { r.add(&r.logs, format, args...) }
func (r *recorder) Fatalf(format string, args ...any) {
	r.add(&r.fatals, format, args...)
	runtime.Goexit()
}
func (r *recorder) Skipf(format string, args ...any) {
	r.add(&r.skips, format, args...)
	runtime.Goexit()
}
func (r *recorder) add(to *[]string, format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	*to = append(*to, fmt.Sprintf(format, args...))
}

// run calls Check on r in a goroutine of its own, which Fatalf and Skipf may end.
func (r *recorder) run(payloads []Payload) *recorder {
	done := make(chan struct{})
	go func() {
		defer close(done)
		Check(r, payloads)
	}()
	<-done
	return r
}

func (r *recorder) String() string {
	return fmt.Sprintf("errors: %q\nfatals: %q\nskips: %q\nlogs: %q", r.errors, r.fatals, r.skips, r.logs)
}

// needTools applies the package's rule to the tests themselves: without the tools they fail, or skip
// with SHIPGATE_SKIP_CONTRACT=1.
func needTools(t *testing.T) toolset {
	t.Helper()
	return tools(t)
}

const (
	slackPost = `{"channel":"C0001","text":"Delivery #1 starts in qa","thread_ts":"1700000000.000001",
		"reply_broadcast":true,"unfurl_links":false,"blocks":[
		{"type":"header","text":{"type":"plain_text","text":"Delivery #1"}},
		{"type":"section","text":{"type":"mrkdwn","text":"*qa* ⏳"},"fields":[{"type":"mrkdwn","text":"image"}]},
		{"type":"actions","block_id":"approve","elements":[
			{"type":"button","action_id":"approve","text":{"type":"plain_text","text":"Approve"},"style":"primary","value":"1"}]},
		{"type":"context","elements":[{"type":"mrkdwn","text":"by <@U1>"}]}]}`
	discordCreate = `{"content":"Delivery #1","embeds":[{"type":"rich","title":"helloservice v0.1.1","color":3066993,
		"fields":[{"name":"qa","value":"⏳","inline":true}],"footer":{"text":"shipgate"}}],
		"components":[{"type":1,"components":[{"type":2,"style":3,"label":"Approve","custom_id":"approve:1"},
			{"type":2,"style":4,"label":"Reject","custom_id":"reject:1"}]}],
		"allowed_mentions":{"parse":[]}}`
	discordModal = `{"type":9,"data":{"custom_id":"reason:1","title":"Reject delivery #1","components":[
		{"type":1,"components":[{"type":4,"custom_id":"reason","label":"Reason","style":2,"required":true,"max_length":500}]}]}}`
)

func TestCheckPasses(t *testing.T) {
	needTools(t)
	Check(t, []Payload{
		{Type: "ChatPostMessageArguments", What: "chat.postMessage", JSON: []byte(slackPost)},
		{Type: "RESTPostAPIChannelMessageJSONBody", What: "messages.create", JSON: []byte(discordCreate)},
		{Type: "APIInteractionResponse", What: "interactions.callback", JSON: []byte(discordModal)},
		{Type: "APIInteractionResponse", What: "interactions.callback", JSON: []byte(`{"type":6}`)},
		{Type: "RESTPutAPIApplicationCommandsJSONBody", What: "commands.overwrite", JSON: []byte(
			`[{"name":"deliver","description":"Deliver a build","type":1,"options":[{"type":3,"name":"args","description":"what","required":false}]}]`)},
		{Type: "SlackResponseURLMessage", What: "response_url", JSON: []byte(`{"delete_original":true}`)},
		{Type: "SlackResponseURLMessage", What: "response_url", JSON: []byte(`{"replace_original":true,"text":"Approved"}`)},
		{Type: "SlackSlashCommandResponse", What: "slash", JSON: []byte(`{"response_type":"ephemeral","blocks":[{"type":"divider"}]}`)},
	})
}

// Each bad payload fails with one error that names its file and the offending key; the good ones
// between them do not.
func TestCheckFails(t *testing.T) {
	needTools(t)
	payloads := []Payload{
		{Type: "RESTPostAPIChannelMessagesThreadsJSONBody", What: "threads.create", JSON: []byte(`{"name":"Delivery #1","auto_archive_duration":1440,"invitable":false}`)},
		{Type: "RESTPostAPIChannelMessageJSONBody", What: "messages.create", JSON: []byte(discordCreate)},
		{Type: "RESTPostAPIChannelMessageJSONBody", What: "messages.create", JSON: []byte(`{"content":"hi","tts":false,"sticker_ids":null}`)},
		{Type: "RESTPatchAPIChannelMessageJSONBody", What: "messages.edit", JSON: []byte(`{"content":"hi","ID":"1","Channel":"2"}`)},
		{Type: "ChatPostMessageArguments", What: "chat.postMessage", JSON: []byte(slackPost)},
		{Type: "ChatPostMessageArguments", What: "chat.postMessage", JSON: []byte(
			`{"channel":"C1","text":"x","blocks":[{"type":"divider"},{"type":"section","txet":{"type":"mrkdwn","text":"x"}}]}`)},
		{Type: "RESTPostAPIChannelMessageJSONBody", What: "messages.create", JSON: []byte(`{"embeds":[{"type":"rch"}]}`)},
		{Type: "SlackResponseURLMessage", What: "response_url", JSON: []byte(`{"replace_original":true}`)},
		{Type: "SlackSlashCommandResponse", What: "slash", JSON: []byte(`{"text":"x","replace_original":false}`)},
	}
	want := map[int]string{ // payload index → what its error must mention
		0: `"invitable"`,
		2: `"sticker_ids"`,
		3: `"ID"`,
		5: `"txet"`,
		6: `"rch"`,
		7: `response_url`,
		8: `"replace_original"`,
	}
	r := newRecorder(t, "bad").run(payloads)
	if len(r.fatals) > 0 || len(r.skips) > 0 {
		t.Fatalf("Check stopped:\n%s", r)
	}
	if len(r.errors) != len(want) {
		t.Fatalf("got %d errors, want %d (one per bad payload):\n%s", len(r.errors), len(want), r)
	}
	dir := outDir(needTools(t), r.Name())
	fileOf := regexp.MustCompile(`^contract: (\S+\.ts) \(`)
	seen := map[int]bool{}
	for _, e := range r.errors {
		m := fileOf.FindStringSubmatch(e)
		if m == nil {
			t.Errorf("error does not start with the file: %s", e)
			continue
		}
		var i int
		if _, err := fmt.Sscanf(filepath.Base(m[1]), "%03d-", &i); err != nil || !ownDir(filepath.Dir(m[1]), dir) {
			t.Errorf("error names %s, not a payload file in %s", m[1], dir)
			continue
		}
		i--
		key, bad := want[i]
		if !bad {
			t.Errorf("payload %d (%s) should type-check, got: %s", i+1, payloads[i].What, e)
			continue
		}
		seen[i] = true
		if !strings.Contains(e, key) || !strings.Contains(e, "("+payloads[i].What+")") || !strings.Contains(e, "error TS") {
			t.Errorf("error for payload %d should name %s, its What and tsc's error: %s", i+1, key, e)
		}
		if _, err := os.Stat(m[1]); err != nil {
			t.Errorf("the file the error names: %v", err)
		}
	}
	for i := range want {
		if !seen[i] {
			t.Errorf("payload %d (%s) did not fail", i+1, payloads[i].JSON)
		}
	}
	if t.Failed() {
		t.Logf("%s", r)
	}
}

// The excerpt marks the offending key in a payload's JSON, on the first line too.
func TestCheckExcerpt(t *testing.T) {
	needTools(t)
	r := newRecorder(t, "one").run([]Payload{{Type: "RESTPatchAPIChannelMessageJSONBody", What: "messages.edit", JSON: []byte(`{"content":"hi","Channel":"2"}`)}})
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "⟪here⟫\"Channel\"") {
		t.Fatalf("want one error quoting the JSON at \"Channel\":\n%s", r)
	}
}

func TestCheckUnknownTypeAndBadJSON(t *testing.T) {
	needTools(t)
	for _, p := range []Payload{
		{Type: "NoSuchType", What: "x", JSON: []byte(`{}`)},
		{Type: "ChatPostMessageArguments", What: "x", JSON: []byte(`{"channel":`)},
	} {
		r := newRecorder(t, "bad-input").run([]Payload{p})
		if len(r.fatals) != 1 {
			t.Errorf("%s %s: want one Fatalf:\n%s", p.Type, p.JSON, r)
		}
	}
}

// Calls for one test name, one after the other or at the same time, each get a directory of their
// own.
func TestCheckSameName(t *testing.T) {
	needTools(t)
	var wg sync.WaitGroup
	recs := make([]*recorder, 4)
	for i := range recs {
		recs[i] = newRecorder(t, "same")
		wg.Go(func() {
			recs[i].run([]Payload{{Type: "RESTPostAPIChannelMessageJSONBody", What: "messages.create", JSON: []byte(discordCreate)}})
		})
	}
	wg.Wait()
	dirs := map[string]bool{}
	for _, r := range recs {
		if len(r.errors)+len(r.fatals)+len(r.skips) > 0 || len(r.logs) != 1 {
			t.Errorf("%s:\n%s", r.name, r)
			continue
		}
		dirs[r.logs[0][strings.LastIndex(r.logs[0], " ")+1:]] = true
	}
	base := outDir(needTools(t), recs[0].Name())
	for d := range dirs {
		if !ownDir(d, base) {
			t.Errorf("a call wrote %s, not %s or a numbered one beside it", d, base)
		}
	}
	if len(dirs) != len(recs) {
		t.Errorf("%d calls wrote %d directories: %v", len(recs), len(dirs), dirs)
	}
}

// ownDir tells whether dir is base or base.N: a test run more than once in a process (-count) has
// its later runs' payloads in the numbered ones.
func ownDir(dir, base string) bool {
	return dir == base || (strings.HasPrefix(dir, base+".") && numbered.MatchString(strings.TrimPrefix(dir, base)))
}

func TestMissingTools(t *testing.T) {
	t.Setenv(ToolsEnv, t.TempDir())
	t.Setenv(SkipEnv, "")
	r := newRecorder(t, "missing").run([]Payload{{Type: "ChatPostMessageArguments", What: "x", JSON: []byte(`{}`)}})
	if len(r.fatals) != 1 || !strings.Contains(r.fatals[0], "make contract-deps") {
		t.Errorf("without the tools: want a Fatalf saying make contract-deps:\n%s", r)
	}
	t.Setenv(SkipEnv, "1")
	r = newRecorder(t, "missing").run([]Payload{{Type: "ChatPostMessageArguments", What: "x", JSON: []byte(`{}`)}})
	if len(r.skips) != 1 || len(r.fatals) != 0 {
		t.Errorf("without the tools and %s=1: want a skip:\n%s", SkipEnv, r)
	}
}

func TestParseDiagnostics(t *testing.T) {
	out := "001-a.ts(7,25): error TS2353: Object literal may only specify known properties.\n" +
		"  Types of property 'x' are incompatible.\n" +
		"    Type 'null' is not assignable.\n" +
		"002-b.ts(1,2): error TS2322: Type 'null' is not assignable to type 'string'.\n" +
		"error TS5058: The specified path does not exist.\n"
	diags, stray := parseDiagnostics(out)
	if len(diags) != 2 || diags[0].file != "001-a.ts" || diags[0].line != 7 || diags[0].col != 25 || diags[0].code != "TS2353" ||
		len(diags[0].more) != 2 || diags[1].file != "002-b.ts" || len(diags[1].more) != 0 {
		t.Errorf("diagnostics: %+v", diags)
	}
	if len(stray) != 1 || !strings.HasPrefix(stray[0], "error TS5058") {
		t.Errorf("stray: %q", stray)
	}
}

// Every type Prelude is said to export, it exports.
func TestPreludeTypes(t *testing.T) {
	for _, name := range append(preludeTypes, "Wire") {
		if !strings.Contains(Prelude, "export type "+name+" ") && !strings.Contains(Prelude, "export type "+name+"<") {
			t.Errorf("Prelude does not export %s", name)
		}
	}
}
