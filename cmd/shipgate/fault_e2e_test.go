package main

import (
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shipgate/shipgate/config/configtest"
	"github.com/shipgate/shipgate/store/storetest"
)

// faultFor is how long the write lock is held: six times the store's busy timeout, so that every task
// result is refused several times over.
const faultFor = 30 * time.Second

// The scenario, end to end: 20 deliveries are running when another process takes the database's
// write lock for 30 s (as a backup tool or sqlite3 run by hand would); their tasks finish meanwhile.
// /readyz says 503 "unwritable" during the fault, and once the lock is released every delivery finishes
// with its own result, with no restart, and /readyz is ready again.
func TestDeliveriesFinishAfterADatabaseFaultWithoutARestart(t *testing.T) {
	t.Parallel()
	const n = 20
	dir := t.TempDir()
	gate := filepath.Join(dir, "gate")
	files := map[string]string{
		"projects/faulty/shipyard.yaml": ciShipyard,
		"projects/faulty/executors.yaml": fmt.Sprintf(`tasks:
  deployment: {type: noop}
  test:
    type: exec
    with: {shell: 'while [ ! -e %s ]; do sleep 0.05; done; echo tested $SHIPGATE_SERVICE'}
`, gate),
		"shipgate.yaml": `database: shipgate.db
projects_dir: projects
api:
  tokens:
    - name: ci
      token: ` + ciToken + `
      projects: [faulty]
`,
	}
	for i := range n {
		files[fmt.Sprintf("projects/faulty/svc%02d/README.md", i)] = "a service\n"
	}
	configtest.WriteFiles(t, dir, files)
	base, dbPath, _ := startServe(t, filepath.Join(dir, "shipgate.yaml"))

	for i := range n {
		req, _ := http.NewRequest(http.MethodPost, base+"/api/v1/deliveries",
			strings.NewReader(fmt.Sprintf(`{"project":"faulty","service":"svc%02d","image":"registry.example/svc:v1"}`, i)))
		req.Header.Set("Authorization", "Bearer "+ciToken)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusCreated && res.StatusCode != http.StatusAccepted {
			t.Fatalf("trigger svc%02d: %d %s", i, res.StatusCode, body)
		}
	}

	watch, err := sql.Open("sqlite", "file:"+dbPath+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	count := func(query string) int {
		var c int
		if err := watch.QueryRow(query).Scan(&c); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		return c
	}
	eventually(t, "20 tests running", func() bool {
		return count(`SELECT count(*) FROM task_runs WHERE name = 'test' AND state = 'started'`) == n
	})

	// The fault: another process holds the write lock.
	release := storetest.HoldWriteLock(t, dbPath)
	faultStart := time.Now()
	if err := os.WriteFile(gate, nil, 0o600); err != nil { // every test passes now
		t.Fatal(err)
	}

	unready := 0
	for time.Since(faultStart) < faultFor {
		code, body := get(t, base+"/readyz")
		switch {
		case code == http.StatusServiceUnavailable && strings.Contains(body, `"database":"unwritable"`):
			unready++
		case time.Since(faultStart) > 10*time.Second:
			// For the first seconds the last write that committed still vouches for the database; then a
			// probe that cannot commit within readyTimeout, or a refused write, says otherwise.
			t.Errorf("/readyz %v into the fault = %d %s, want 503 unwritable", time.Since(faultStart).Round(time.Second), code, body)
		}
		time.Sleep(time.Second) // a load balancer's probe interval, not a wait for a goroutine
	}
	if got := count(`SELECT count(*) FROM deliveries WHERE state = 'finished'`); got != 0 {
		t.Errorf("%d deliveries finished while the lock was held", got)
	}
	release()
	t.Logf("write lock held %v; /readyz answered 503 unwritable %d times", time.Since(faultStart).Round(time.Second), unready)
	if unready == 0 {
		t.Error("/readyz never said the database was unwritable during the fault")
	}

	cleared := time.Now()
	eventually(t, "every delivery finished", func() bool {
		return count(`SELECT count(*) FROM deliveries WHERE state = 'finished'`) == n
	})
	t.Logf("all %d deliveries finished %v after the fault cleared", n, time.Since(cleared).Round(time.Millisecond))
	if got := count(`SELECT count(*) FROM deliveries WHERE result = 'pass'`); got != n {
		t.Errorf("%d of %d deliveries passed; want each with its own (passing) result", got, n)
	}
	eventually(t, "/readyz ready again", func() bool {
		code, _ := get(t, base+"/readyz")
		return code == http.StatusOK
	})

	_, metrics := get(t, base+"/metrics")
	value := func(name string) (float64, bool) {
		m := regexp.MustCompile(`(?m)^` + name + ` (\S+)$`).FindStringSubmatch(metrics)
		if m == nil {
			return 0, false
		}
		v, err := strconv.ParseFloat(m[1], 64)
		return v, err == nil
	}
	if v, ok := value("shipgate_store_write_errors_total"); !ok || v < 1 {
		t.Errorf("shipgate_store_write_errors_total = %v (present %v), want the refused writes counted", v, ok)
	}
	if v, ok := value("shipgate_engine_unrecorded_transitions"); !ok || v != 0 {
		t.Errorf("shipgate_engine_unrecorded_transitions = %v (present %v), want 0", v, ok)
	}
	for _, name := range []string{"process_resident_memory_bytes", "go_goroutines"} {
		if v, ok := value(name); !ok || v <= 0 {
			t.Errorf("/metrics lacks %s (got %v)", name, v)
		}
	}
}
