package main

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/config/configtest"
)

// replayToken is the API token of the replay test's shipgate.
const replayToken = "replay-test-token-0123456789"

// replayKill says when a round of TestIdempotentTriggerSurvivesKill9 kills shipgate.
type replayKill int

const (
	killAfterDelay  replayKill = iota // a fixed time after the request starts, spread across its flight
	killOnCommit                      // as soon as the round's delivery is visible in the database file
	killAfterAnswer                   // once the first answer has arrived
)

func (k replayKill) String() string {
	return [...]string{"delay", "on-commit", "after-answer"}[k]
}

// What a kill -9 interrupted, as the caller and the database file tell it afterwards.
const (
	beforeCommit = "killed before the commit"
	beforeAnswer = "killed after the commit, before the answer"
	afterAnswer  = "killed after the answer"
)

// replayAnswer is what a POST /api/v1/deliveries got back; err is set when no whole answer arrived.
type replayAnswer struct {
	err          error
	status       int
	replayed     string // the Idempotent-Replayed header
	id           int64
	keptnContext string
	body         string
	took         time.Duration
}

func (a replayAnswer) String() string {
	if a.err != nil {
		return "no answer (" + a.err.Error() + ")"
	}
	return fmt.Sprintf("%d id=%d Idempotent-Replayed=%q in %v", a.status, a.id, a.replayed, a.took.Round(time.Microsecond))
}

// replayPost triggers a delivery of image with the Idempotency-Key key.
func replayPost(client *http.Client, base, key, image string) replayAnswer {
	body := fmt.Sprintf(`{"project":"citour","service":"web","image":%q}`, image)
	req, err := http.NewRequest(http.MethodPost, base+"/api/v1/deliveries", strings.NewReader(body))
	if err != nil {
		return replayAnswer{err: err}
	}
	req.Header.Set("Authorization", "Bearer "+replayToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	start := time.Now()
	res, err := client.Do(req)
	if err != nil {
		return replayAnswer{err: err}
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return replayAnswer{err: err}
	}
	a := replayAnswer{status: res.StatusCode, replayed: res.Header.Get("Idempotent-Replayed"), body: strings.TrimSpace(string(raw)), took: time.Since(start)}
	var v struct {
		ID           int64  `json:"id"`
		KeptnContext string `json:"keptnContext"`
	}
	if json.Unmarshal(raw, &v) == nil {
		a.id, a.keptnContext = v.ID, v.KeptnContext
	}
	return a
}

// replayClient is a round's own HTTP client: no connection outlives the process it went to, and an answer
// that never comes ends the request within seconds.
func replayClient(t *testing.T) *http.Client {
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// waitReady polls /readyz until shipgate answers ready, for a bounded time.
func waitReady(t *testing.T, sg *shipgateProcess, client *http.Client) {
	t.Helper()
	eventually(t, "/readyz answers 200", func() bool {
		res, err := client.Get(sg.base + "/readyz")
		if err != nil {
			return false
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode == http.StatusOK
	})
}

// kill9 kills shipgate with SIGKILL and waits until it is gone.
func kill9(t *testing.T, sg *shipgateProcess) {
	t.Helper()
	if err := sg.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill -9 shipgate: %v", err)
	}
	_ = sg.wait() // "signal: killed"
}

// replayFile reads the database file with a connection of its own, read-only: what a crash left behind,
// or what a running shipgate committed. It is closed before shipgate restarts, so that the restarted
// process opens the file alone, as it would after a real crash.
type replayFile struct {
	t  *testing.T
	db *sql.DB
}

func openReplayFile(t *testing.T, path string) *replayFile {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	// Connect now, so that the first query in a round's poll does not pay for opening the file.
	if err := db.Ping(); err != nil {
		t.Fatalf("open the database read-only: %v", err)
	}
	return &replayFile{t: t, db: db}
}

func (f *replayFile) close() {
	if err := f.db.Close(); err != nil {
		f.t.Errorf("close the read-only database: %v", err)
	}
}

// replayState is what the file holds for one round, and what it holds overall.
type replayState struct {
	ids       []int64  // deliveries of the round's image
	contexts  []string // and their keptn contexts
	claims    []int    // per delivery of the round, the idempotency keys naming it
	unclaimed int      // deliveries, of any round, no idempotency key names
	total     int      // deliveries
	keys      int      // idempotency keys
}

func (s replayState) String() string {
	return fmt.Sprintf("deliveries of the round %v (keys naming each %v); %d deliveries, %d keys, %d deliveries without a key",
		s.ids, s.claims, s.total, s.keys, s.unclaimed)
}

// state reads the round's deliveries, by image, and the idempotency keys.
func (f *replayFile) state(image string) replayState {
	f.t.Helper()
	var s replayState
	rows, err := f.db.Query(`SELECT id, keptn_context FROM deliveries WHERE image = ? ORDER BY id`, image)
	if err != nil {
		f.t.Fatalf("read deliveries: %v", err)
	}
	for rows.Next() {
		var id int64
		var kc string
		if err := rows.Scan(&id, &kc); err != nil {
			f.t.Fatal(err)
		}
		s.ids, s.contexts = append(s.ids, id), append(s.contexts, kc)
	}
	if err := rows.Err(); err != nil {
		f.t.Fatal(err)
	}
	rows.Close()
	for _, id := range s.ids {
		var n int
		if err := f.db.QueryRow(`SELECT count(*) FROM idempotency_keys WHERE delivery_id = ?`, id).Scan(&n); err != nil {
			f.t.Fatalf("read idempotency keys: %v", err)
		}
		s.claims = append(s.claims, n)
	}
	err = f.db.QueryRow(`SELECT
		(SELECT count(*) FROM deliveries d WHERE NOT EXISTS (SELECT 1 FROM idempotency_keys k WHERE k.delivery_id = d.id)),
		(SELECT count(*) FROM deliveries),
		(SELECT count(*) FROM idempotency_keys)`).Scan(&s.unclaimed, &s.total, &s.keys)
	if err != nil {
		f.t.Fatalf("count deliveries and keys: %v", err)
	}
	return s
}

// committed polls the file until a delivery of image is visible; it reports false if answered is closed
// first or after a bounded time.
func (f *replayFile) committed(image string, answered <-chan struct{}) bool {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-answered:
			return false
		default:
		}
		var n int
		if err := f.db.QueryRow(`SELECT count(*) FROM deliveries WHERE image = ?`, image).Scan(&n); err == nil && n > 0 {
			return true
		}
	}
	return false
}

// consistency checks what holds whenever no request is in flight: the round has at most one delivery,
// each named by exactly one idempotency key, and no delivery was committed without its key nor a key
// without its delivery. Orphans, of any round, are reported once, in the round that left them.
type consistency struct {
	t       *testing.T
	orphans [2]int // deliveries without a key, and deliveries minus keys, already reported
}

func (c *consistency) check(round int, when string, s replayState) {
	c.t.Helper()
	if len(s.ids) > 1 {
		c.t.Errorf("round %d, %s: %d deliveries for one Idempotency-Key: %v", round, when, len(s.ids), s)
	}
	for i, n := range s.claims {
		if n != 1 {
			c.t.Errorf("round %d, %s: delivery %d is named by %d idempotency keys, want 1: %v", round, when, s.ids[i], n, s)
		}
	}
	if orphans := [2]int{s.unclaimed, s.total - s.keys}; orphans != c.orphans {
		c.t.Errorf("round %d, %s: a delivery was committed without its key, or a key without its delivery: %v", round, when, s)
		c.orphans = orphans
	}
}

// The README's promise for the delivery API's Idempotency-Key holds across kill -9 at any moment: the key
// is claimed in the transaction that creates the delivery, so a retry with the same key after a crash
// either finds the delivery the first request committed (200, Idempotent-Replayed: true, the same id) or
// finds nothing committed and creates exactly one (202). Never two deliveries for a key, never a 202 for
// a key whose delivery exists.
//
// Each round triggers a delivery with a fresh key from a freshly started shipgate, kills it with SIGKILL
// while the request is in flight (a time into it spread across rounds, or as soon as the delivery is
// visible in the file, or after the answer), reads what the file holds, restarts shipgate on the same
// file and retries with the same key.
func TestIdempotentTriggerSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills shipgate two dozen times")
	}
	const rounds = 12
	dir := t.TempDir()
	configtest.WriteFiles(t, dir, map[string]string{
		"projects/citour/shipyard.yaml":  ciShipyard,
		"projects/citour/executors.yaml": "tasks:\n  deployment: {type: noop}\n  test: {type: noop}\n",
		"projects/citour/web/README.md":  "web\n",
		"shipgate.yaml": `listen: 127.0.0.1:0
database: shipgate.db
projects_dir: projects
api:
  tokens:
    - {name: replay, token: ` + replayToken + `, projects: ["*"]}
`,
	})
	cfg := filepath.Join(dir, "shipgate.yaml")
	dbPath := filepath.Join(dir, "shipgate.db")
	shipgateBinary(t) // built before the clock starts
	began := time.Now()

	// How long a first request to a freshly started shipgate takes, to spread the kills across it.
	var flight time.Duration
	{
		client := replayClient(t)
		sg := startShipgateBinary(t, cfg)
		waitReady(t, sg, client)
		for i := range 3 {
			a := replayPost(client, sg.base, fmt.Sprintf("warmup-%d", i), fmt.Sprintf("ghcr.io/podtato-head/podtatoserver:v0.0.%d", i))
			if a.err != nil || a.status != http.StatusAccepted {
				t.Fatalf("warm-up trigger %d: %v %s\n%s", i, a, a.body, sg.log)
			}
			if i == 0 {
				flight = a.took
			}
			t.Logf("warm-up trigger %d took %v", i, a.took.Round(time.Microsecond))
		}
		kill9(t, sg)
	}

	counts := map[string]int{}
	consistent := &consistency{t: t}
	for round := range rounds {
		key := fmt.Sprintf("round-%d", round)
		image := fmt.Sprintf("ghcr.io/podtato-head/podtatoserver:v0.1.%d", round)
		mode, delay := killAfterDelay, time.Duration(0)
		switch round % 6 {
		case 2:
			mode = killOnCommit
		case 5:
			mode = killAfterAnswer
		default:
			// The other rounds (0, 1, 3, 4, 6, 7, 9, 10 of 12) kill from the request's start to a quarter
			// past its usual end, evenly spread.
			k, last := round-round/3, rounds-(rounds+1)/3-1 // 0..7 of 12 rounds
			delay = flight * time.Duration(5*k) / time.Duration(4*last)
		}
		client := replayClient(t)

		// The first request, and the crash.
		sg := startShipgateBinary(t, cfg)
		waitReady(t, sg, client)
		file := openReplayFile(t, dbPath)
		started, answered := make(chan struct{}), make(chan struct{})
		var first replayAnswer
		go func() {
			defer close(answered)
			close(started)
			first = replayPost(client, sg.base, key, image)
		}()
		<-started
		sent := time.Now()
		sawCommit := time.Duration(-1)
		switch mode {
		case killAfterDelay:
			for time.Since(sent) < delay { // the fault's timing: a spin, for sub-millisecond precision
			}
		case killOnCommit:
			if file.committed(image, answered) {
				sawCommit = time.Since(sent)
			}
		case killAfterAnswer:
			<-answered
		}
		killedAt := time.Since(sent)
		kill9(t, sg)
		<-answered // the client's timeout bounds it; the dead process's connection ends it at once

		before := file.state(image)
		file.close()
		consistent.check(round, "after the kill", before)
		what := beforeCommit
		switch {
		case first.err == nil:
			what = afterAnswer
		case len(before.ids) > 0:
			what = beforeAnswer
		}
		counts[what]++
		if first.err == nil {
			if first.status != http.StatusAccepted || first.replayed != "" || first.id == 0 {
				t.Errorf("round %d: first answer %v %s, want 202 with a delivery and no Idempotent-Replayed", round, first, first.body)
			}
			if len(before.ids) != 1 || before.ids[0] != first.id {
				t.Errorf("round %d: the first answer said delivery %d, but after the kill the file holds %v", round, first.id, before)
			}
		}

		// The restart, and the retry with the same key.
		sg = startShipgateBinary(t, cfg)
		waitReady(t, sg, client)
		retry := replayPost(client, sg.base, key, image)
		if retry.err != nil {
			t.Fatalf("round %d: retry: %v\n%s", round, retry.err, sg.log)
		}
		switch {
		case len(before.ids) > 0:
			if retry.status != http.StatusOK || retry.replayed != "true" || retry.id != before.ids[0] || retry.keptnContext != before.contexts[0] {
				t.Errorf("round %d (%s): delivery %d existed before the retry, which answered %v %s; want 200, Idempotent-Replayed: true and delivery %d (%s)",
					round, what, before.ids[0], retry, retry.body, before.ids[0], before.contexts[0])
			}
		default:
			if retry.status != http.StatusAccepted || retry.replayed != "" || retry.id == 0 {
				t.Errorf("round %d (%s): no delivery existed before the retry, which answered %v %s; want 202 creating one",
					round, what, retry, retry.body)
			}
		}
		again := replayPost(client, sg.base, key, image)
		if again.err != nil || again.status != http.StatusOK || again.replayed != "true" || again.id != retry.id {
			t.Errorf("round %d: a second retry answered %v %s; want 200, Idempotent-Replayed: true and delivery %d", round, again, again.body, retry.id)
		}
		file = openReplayFile(t, dbPath)
		after := file.state(image)
		file.close()
		consistent.check(round, "after the retry", after)
		if len(after.ids) != 1 || after.ids[0] != retry.id {
			t.Errorf("round %d: after the retry the file holds %v, want exactly delivery %d", round, after, retry.id)
		}
		kill9(t, sg)

		detail := fmt.Sprintf("killed %v into the request", killedAt.Round(time.Microsecond))
		switch mode {
		case killAfterDelay:
			detail += fmt.Sprintf(" (delay %v)", delay.Round(time.Microsecond))
		case killOnCommit:
			if sawCommit >= 0 {
				detail += fmt.Sprintf(" (the poll saw the delivery after %v)", sawCommit.Round(time.Microsecond))
			} else {
				detail += " (the answer came before the delivery was seen)"
			}
		}
		t.Logf("round %2d %-12s %s: %s; first: %v; retry: %v", round, mode, detail, what, first, retry)
	}
	t.Logf("%d rounds in %v (a first request takes about %v): %d %s, %d %s, %d %s",
		rounds, time.Since(began).Round(time.Millisecond), flight.Round(time.Microsecond),
		counts[beforeCommit], beforeCommit, counts[beforeAnswer], beforeAnswer, counts[afterAnswer], afterAnswer)
}
