package growth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/shipgate/shipgate/store"
)

// Figures is what one measurement of a server found: each should be the same whatever the size of the
// history it serves.
type Figures struct {
	Deliveries int           // finished deliveries of history
	Ready      time.Duration // from starting the process to /readyz answering 200

	FirstScrape time.Duration // the first /metrics after start, which computes the DORA figures
	AfterScrape Memory        // the server's memory after it

	ListP50, ListP99 time.Duration // GET /api/v1/deliveries?limit=20
	GetP50           time.Duration // GET /api/v1/deliveries/{id}, ids spread over history
	HistoryP50       time.Duration // /deliver history SERVICE through the web console
	AuditP50         time.Duration // shipgate audit export of one day, a process of its own
	AuditEntries     int           // what one such export wrote
	ScrapeP50        time.Duration // /metrics after the first

	Burst Burst
}

// Burst is what a burst of deliveries of one service, queued at once, cost.
type Burst struct {
	Deliveries int
	Took       time.Duration // from the first POST to the last delivery finished
	Queued     time.Duration // from the first POST to the last answer
	PostP50    time.Duration // POST /api/v1/deliveries
	Commits    int64         // write transactions committed meanwhile, as counted in the WAL
	WALBytes   int64         // what they appended to the WAL
	WALLost    string        // why the WAL counter may have missed frames, if it may have (see WALCounter)
	After      Memory        // the server's memory once the burst drained
}

// Rate is deliveries finished per second.
func (b Burst) Rate() float64 { return float64(b.Deliveries) / b.Took.Seconds() }

// CommitRate is write transactions per second.
func (b Burst) CommitRate() float64 { return float64(b.Commits) / b.Took.Seconds() }

// BytesPerCommit is WAL bytes per write transaction.
func (b Burst) BytesPerCommit() float64 { return float64(b.WALBytes) / float64(max(b.Commits, 1)) }

// MeasureOptions say what to measure.
type MeasureOptions struct {
	Deliveries int       // the size of the history the server was started on
	HistoryEnd time.Time // Shape.End of that history: "one day" of audit is the day before it
	Burst      int       // deliveries in the burst
	// Project and Service receive the burst, and /deliver history is asked about Service.
	Project, Service string
	// Samples of each read; the list gets twice as many, for its 99th percentile.
	Samples int
	// RunID makes the burst's idempotency keys and images unique to this run.
	RunID string
}

// Measure measures srv in this order: the first /metrics scrape, the memory after it, and more scrapes;
// the reads (the list, single deliveries, one day of audit export, /deliver history) on the history as
// generated; then the burst, and the memory once it has drained.
func Measure(ctx context.Context, srv *Server, opts MeasureOptions) (Figures, error) {
	m := &measurer{srv: srv, client: &http.Client{Timeout: 30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: burstClients, DisableCompression: true}}}
	defer m.client.CloseIdleConnections()
	f := Figures{Deliveries: opts.Deliveries, Ready: srv.Ready}
	n := opts.Samples

	var err error
	if f.FirstScrape, err = m.scrape(ctx); err != nil {
		return f, fmt.Errorf("first /metrics: %w", err)
	}
	if f.AfterScrape, err = ReadMemory(srv.Pid()); err != nil {
		return f, err
	}
	// Within the minute the DORA figures are cached for, as most of Prometheus's scrapes are.
	scrapes, err := m.sample(ctx, max(5, n/10), func(int) error { _, err := m.scrape(ctx); return err })
	if err != nil {
		return f, fmt.Errorf("/metrics: %w", err)
	}
	f.ScrapeP50 = percentile(scrapes, 50)

	list, err := m.sample(ctx, 2*n, func(int) error { return m.getJSON(ctx, "/api/v1/deliveries?limit=20", nil) })
	if err != nil {
		return f, fmt.Errorf("list deliveries: %w", err)
	}
	f.ListP50, f.ListP99 = percentile(list, 50), percentile(list, 99)

	get, err := m.sample(ctx, n, func(i int) error {
		id := 1 + i*opts.Deliveries/n // spread over history, oldest to newest
		var d struct {
			ID int64 `json:"id"`
		}
		if err := m.getJSON(ctx, fmt.Sprintf("/api/v1/deliveries/%d", id), &d); err != nil {
			return err
		}
		if d.ID != int64(id) {
			return fmt.Errorf("GET delivery %d answered delivery %d", id, d.ID)
		}
		return nil
	})
	if err != nil {
		return f, fmt.Errorf("get a delivery: %w", err)
	}
	f.GetP50 = percentile(get, 50)

	// One day of history: the day before it ended, whatever the time since.
	since := fmt.Sprintf("%dm", int(math.Ceil(time.Since(opts.HistoryEnd.Add(-24*time.Hour)).Minutes())))
	audit, err := m.sample(ctx, max(3, n/20), func(int) error {
		var err error
		f.AuditEntries, err = srv.AuditExport(ctx, since)
		return err
	})
	if err != nil {
		return f, err
	}
	f.AuditP50 = percentile(audit, 50)

	hist, err := m.sample(ctx, max(5, n/4), func(int) error { return m.history(ctx, opts.Service) })
	if err != nil {
		return f, fmt.Errorf("/deliver history: %w", err)
	}
	f.HistoryP50 = percentile(hist, 50)

	if f.Burst, err = m.burst(ctx, opts); err != nil {
		return f, fmt.Errorf("burst: %w", err)
	}
	return f, nil
}

// burstClients is how many POSTs of a burst are in flight at once.
const burstClients = 16

// burstTimeout bounds how long a burst may take to drain.
const burstTimeout = 20 * time.Minute

type measurer struct {
	srv    *Server
	client *http.Client
}

// sample runs fn n times, after two runs that warm up what the first calls pay for once (a prepared
// statement, a connection), and returns how long each of the n took.
func (m *measurer) sample(ctx context.Context, n int, fn func(i int) error) ([]time.Duration, error) {
	for i := range 2 {
		if err := fn(i); err != nil {
			return nil, err
		}
	}
	took := make([]time.Duration, n)
	for i := range n {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		start := time.Now()
		if err := fn(i); err != nil {
			return nil, err
		}
		took[i] = time.Since(start)
	}
	return took, nil
}

// percentile is the nearest-rank percentile p of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[min(max(rank, 0), len(s)-1)]
}

func (m *measurer) do(ctx context.Context, method, path, token string, body []byte) (*http.Response, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, m.srv.Base+path, r)
	if err != nil {
		return nil, err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := m.client.Do(req)
	if err != nil {
		select {
		case <-m.srv.exited:
			return nil, fmt.Errorf("%w: %v\n%s", errServerGone, m.srv.err, m.srv.Log())
		default:
		}
		return nil, err
	}
	return res, nil
}

// read sends a request (do) and reads its whole answer.
func (m *measurer) read(ctx context.Context, method, path, token string, body []byte) (*http.Response, []byte, error) {
	res, err := m.do(ctx, method, path, token, body)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	return res, raw, err
}

// getJSON GETs an API path and decodes its answer into v, or discards it when v is nil.
func (m *measurer) getJSON(ctx context.Context, path string, v any) error {
	res, raw, err := m.read(ctx, http.MethodGet, path, APIToken, nil)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %s", path, res.Status, raw)
	}
	if v == nil {
		return nil
	}
	return json.Unmarshal(raw, v)
}

func (m *measurer) scrape(ctx context.Context) (time.Duration, error) {
	start := time.Now()
	res, raw, err := m.read(ctx, http.MethodGet, "/metrics", "", nil)
	if err != nil {
		return 0, err
	}
	took := time.Since(start)
	if res.StatusCode != http.StatusOK || !bytes.Contains(raw, []byte("shipgate_dora_deployments")) {
		return 0, fmt.Errorf("GET /metrics: %s without DORA figures", res.Status)
	}
	return took, nil
}

// history asks /deliver history SERVICE in the web console's channel, as a person in the console would
// (with the console's access token, as scripts do).
func (m *measurer) history(ctx context.Context, service string) error {
	body, _ := json.Marshal(map[string]string{"channel": HistoryChannel, "user": "bench", "text": "/deliver history " + service})
	res, raw, err := m.read(ctx, http.MethodPost, "/web/command", WebToken, body)
	if err != nil {
		return err
	}
	var reply struct {
		Reply struct {
			Header string `json:"header"`
			Text   string `json:"text"`
		} `json:"reply"`
	}
	if res.StatusCode != http.StatusOK || json.Unmarshal(raw, &reply) != nil || !strings.HasPrefix(reply.Reply.Header, "History of") {
		return fmt.Errorf("POST /web/command: %s: %s", res.Status, raw)
	}
	return nil
}

// burst queues opts.Burst deliveries of one service through the delivery API, burstClients at a time,
// and waits until the last of them has finished, counting what the WAL took meanwhile.
func (m *measurer) burst(ctx context.Context, opts MeasureOptions) (Burst, error) {
	b := Burst{Deliveries: opts.Burst}
	ctx, cancel := context.WithTimeout(ctx, burstTimeout)
	defer cancel()

	wal, err := NewWALCounter(m.srv.Database)
	if err != nil {
		return b, err
	}
	var walMu sync.Mutex
	var walErr error
	stopWAL := make(chan struct{})
	walDone := make(chan struct{})
	go func() {
		defer close(walDone)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopWAL:
				return
			case <-tick.C:
			}
			walMu.Lock()
			if err := wal.Sample(); err != nil && walErr == nil {
				walErr = err
			}
			walMu.Unlock()
		}
	}()
	defer func() {
		select {
		case <-stopWAL:
		default:
			close(stopWAL)
		}
		<-walDone
	}()

	answers := make([]postAnswer, opts.Burst)
	next := make(chan int)
	var wg sync.WaitGroup
	first := time.Now()
	for range burstClients {
		wg.Go(func() {
			for i := range next {
				answers[i] = m.post(ctx, opts, i)
			}
		})
	}
	for i := range opts.Burst {
		next <- i
	}
	close(next)
	wg.Wait()
	b.Queued = time.Since(first)
	posts := make([]time.Duration, 0, opts.Burst)
	var last int64
	for i, a := range answers {
		if a.err != nil {
			return b, fmt.Errorf("POST %d of %d: %w", i+1, opts.Burst, a.err)
		}
		posts = append(posts, a.took)
		last = max(last, a.id)
	}
	b.PostP50 = percentile(posts, 50)

	// One queue per project, stage and service, first in first out: the last delivery queued is the
	// last to finish.
	finished, err := m.waitFinished(ctx, last)
	if err != nil {
		return b, err
	}
	close(stopWAL)
	<-walDone
	if err := wal.Sample(); err != nil {
		return b, err
	}
	if walErr != nil {
		return b, walErr
	}
	b.Took = finished.Sub(first)
	b.Commits, b.WALBytes, b.WALLost = wal.Commits, wal.Bytes(), wal.Lost
	if b.After, err = ReadMemory(m.srv.Pid()); err != nil {
		return b, err
	}
	// Nothing of the burst may still be live: the queue drained.
	for _, state := range store.LiveSequenceStates() {
		var live struct {
			Deliveries []struct {
				ID int64 `json:"id"`
			} `json:"deliveries"`
		}
		path := fmt.Sprintf("/api/v1/deliveries?project=%s&service=%s&state=%s&limit=1", opts.Project, opts.Service, state)
		if err := m.getJSON(ctx, path, &live); err != nil {
			return b, err
		}
		if len(live.Deliveries) > 0 {
			return b, fmt.Errorf("delivery %d is still %s after the last one finished", live.Deliveries[0].ID, state)
		}
	}
	return b, nil
}

// postAnswer is what one POST of a burst got: the delivery it created, or an error.
type postAnswer struct {
	id   int64
	took time.Duration
	err  error
}

// post triggers delivery i of the burst, as CI would, with an idempotency key.
func (m *measurer) post(ctx context.Context, opts MeasureOptions, i int) (a postAnswer) {
	body, _ := json.Marshal(map[string]string{"project": opts.Project, "service": opts.Service,
		"image": fmt.Sprintf("registry.example/%s/%s:burst-%s-%d", opts.Project, opts.Service, opts.RunID, i)})
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.srv.Base+"/api/v1/deliveries", bytes.NewReader(body))
	if err != nil {
		a.err = err
		return a
	}
	req.Header.Set("Authorization", "Bearer "+APIToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", fmt.Sprintf("growth-%s-%d", opts.RunID, i))
	res, err := m.client.Do(req)
	if err != nil {
		a.err = err
		return a
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	a.took = time.Since(start)
	if err != nil {
		a.err = err
		return a
	}
	var v struct {
		ID int64 `json:"id"`
	}
	if res.StatusCode != http.StatusAccepted || json.Unmarshal(raw, &v) != nil || v.ID == 0 {
		a.err = fmt.Errorf("%s: %s", res.Status, raw)
		return a
	}
	a.id = v.ID
	return a
}

// waitFinished polls delivery id until it has ended and returns when it did, by the server's clock.
func (m *measurer) waitFinished(ctx context.Context, id int64) (time.Time, error) {
	for {
		var d struct {
			State      string     `json:"state"`
			Result     string     `json:"result"`
			FinishedAt *time.Time `json:"finishedAt"`
		}
		if err := m.getJSON(ctx, fmt.Sprintf("/api/v1/deliveries/%d", id), &d); err != nil {
			return time.Time{}, err
		}
		if d.FinishedAt != nil {
			if d.State != "finished" || d.Result != "pass" {
				return time.Time{}, fmt.Errorf("delivery %d ended %s with result %q, want finished with pass", id, d.State, d.Result)
			}
			return *d.FinishedAt, nil
		}
		select {
		case <-ctx.Done():
			return time.Time{}, errors.Join(fmt.Errorf("delivery %d has not finished", id), ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
