package prometheus

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/shipgate/shipgate/config"
)

// answer is what the fake Prometheus sends for one query: an HTTP status and a body.
type answer struct {
	status int
	body   string
}

func success(resultType, result string) answer {
	return answer{http.StatusOK, fmt.Sprintf(`{"status":"success","data":{"resultType":%q,"result":%s}}`, resultType, result)}
}

// vector is a successful instant vector answer with one sample per value.
func vector(values ...string) answer {
	samples := make([]string, len(values))
	for i, v := range values {
		samples[i] = fmt.Sprintf(`{"metric":{"instance":"i%d"},"value":[1772366400,%q]}`, i, v)
	}
	return success("vector", "["+strings.Join(samples, ",")+"]")
}

func apiError(status int, errorType, msg string) answer {
	return answer{status, fmt.Sprintf(`{"status":"error","errorType":%q,"error":%q}`, errorType, msg)}
}

// received is one query the fake Prometheus got.
type received struct {
	query, time, auth string
}

// fakePrometheus speaks /api/v1/query: it answers each known query as told and records what it got.
type fakePrometheus struct {
	*httptest.Server
	answers map[string]answer

	mu  sync.Mutex
	got []received
}

func newFakePrometheus(t *testing.T, answers map[string]answer) *fakePrometheus {
	f := &fakePrometheus{answers: answers}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakePrometheus) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/api/v1/query" {
		http.NotFound(w, r)
		return
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	q := r.Form.Get("query")
	f.mu.Lock()
	f.got = append(f.got, received{q, r.Form.Get("time"), r.Header.Get("Authorization")})
	f.mu.Unlock()
	a, ok := f.answers[q]
	if !ok {
		a = apiError(http.StatusBadRequest, "bad_data", "fake prometheus does not know the query "+q)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(a.status)
	io.WriteString(w, a.body)
}

func (f *fakePrometheus) received() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]received(nil), f.got...)
}

func newProviderT(t *testing.T, cfg Config) *Provider {
	t.Helper()
	p, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

func TestGetSLIsOutcomes(t *testing.T) {
	tests := []struct {
		name    string
		answer  answer
		want    float64
		message string // "" means success; otherwise a prefix of the message
	}{
		{"one sample", vector("4.25"), 4.25, ""},
		{"zero is a value", vector("0"), 0, ""},
		{"no samples", vector(), 0, MsgNoValues},
		{"several samples", vector("1", "2"), 0, MsgMultipleValues},
		{"NaN", vector("NaN"), 0, MsgInvalidValues},
		{"infinity", vector("+Inf"), 0, MsgInvalidValues + ": +Inf"},
		{"scalar", success("scalar", `[1772366400,"7"]`), 7, ""},
		{"NaN scalar", success("scalar", `[1772366400,"NaN"]`), 0, MsgInvalidValues},
		{"range vector", success("matrix", `[{"metric":{},"values":[[1772366400,"1"]]}]`), 0, MsgInvalidValues + ": the query returned a matrix"},
		{"string", success("string", `[1772366400,"x"]`), 0, `Prometheus at URL answered bad_response: unexpected value type "string"`},
		{"bad query", apiError(http.StatusBadRequest, "bad_data", `invalid parameter "query": 1:5: parse error: unexpected "}"`), 0,
			`Prometheus rejected the query: invalid parameter "query": 1:5: parse error`},
		{"execution error", apiError(http.StatusUnprocessableEntity, "execution", "query processing would load too many samples"), 0,
			"Prometheus at URL answered execution: query processing would load too many samples"},
		{"server error", answer{http.StatusServiceUnavailable, "overloaded"}, 0, "Prometheus at URL answered server_error: server error: 503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFakePrometheus(t, map[string]answer{"the_query": tt.answer})
			p := newProviderT(t, Config{URL: fake.URL})
			r := baseRequest()
			r.Indicators = []string{"sli"}
			r.Queries = map[string]string{"sli": "the_query"}
			got, err := p.GetSLIs(context.Background(), r)
			if err != nil {
				t.Fatalf("GetSLIs: %v", err)
			}
			v := got[0]
			want := strings.ReplaceAll(tt.message, "URL", fake.URL)
			switch {
			case v.Metric != "sli" || v.Query != "the_query":
				t.Errorf("value names %q / %q", v.Metric, v.Query)
			case want == "" && (!v.Success || v.Value != tt.want || v.Message != ""):
				t.Errorf("got %+v, want success with %v", v, tt.want)
			case want != "" && (v.Success || v.Value != 0 || !strings.HasPrefix(v.Message, want)):
				t.Errorf("got %+v, want a failure with message %q", v, want)
			}
		})
	}
}

func TestGetSLIsQueriesAtEndInOrder(t *testing.T) {
	r := baseRequest()
	r.Indicators = []string{"response_time_p95", "memory", "throughput", "custom"}
	r.Queries = map[string]string{"custom": "max(mem{svc='$SERVICE'}[$DURATION_SECONDS])"}
	r.Filters = map[string]string{"job": "carts"}
	fake := newFakePrometheus(t, map[string]answer{
		"histogram_quantile(0.95,sum(rate(http_response_time_milliseconds_bucket{job='carts'}[300s]))by(le))": vector("120"),
		"sum(rate(http_requests_total{job='carts'}[300s]))":                                                   vector("33.5"),
		"max(mem{svc='carts'}[300s])":                                                                         vector("512"),
	})
	p := newProviderT(t, Config{URL: fake.URL})
	got, err := p.GetSLIs(context.Background(), r)
	if err != nil {
		t.Fatalf("GetSLIs: %v", err)
	}
	want := []Value{
		{Metric: "response_time_p95", Value: 120, Success: true, Query: "histogram_quantile(0.95,sum(rate(http_response_time_milliseconds_bucket{job='carts'}[300s]))by(le))"},
		{Metric: "memory", Message: "no query defined for SLI memory"},
		{Metric: "throughput", Value: 33.5, Success: true, Query: "sum(rate(http_requests_total{job='carts'}[300s]))"},
		{Metric: "custom", Value: 512, Success: true, Query: "max(mem{svc='carts'}[300s])"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d values, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("value %d = %+v\nwant %+v", i, got[i], want[i])
		}
	}
	// Each query is an instant query at the end of the window, and the SLI without a query sends none.
	reqs := fake.received()
	if len(reqs) != 3 {
		t.Fatalf("prometheus got %d queries, want 3: %+v", len(reqs), reqs)
	}
	wantTime := strconv.FormatInt(r.End.Unix(), 10)
	for _, q := range reqs {
		if q.time != wantTime {
			t.Errorf("query %q evaluated at %q, want the window's end %s", q.query, q.time, wantTime)
		}
	}
}

func TestGetSLIsRejectsUnusableRequests(t *testing.T) {
	p := newProviderT(t, Config{URL: "http://127.0.0.1:9"})
	start, end := window(time.Minute)
	tests := []struct {
		name string
		r    Request
		want string
	}{
		{"no service", Request{Project: "p", Stage: "s", Start: start, End: end}, "request names no project, stage or service"},
		{"no end", Request{Project: "p", Stage: "s", Service: "x", Start: start}, "evaluation window has no end"},
		{"empty window", Request{Project: "p", Stage: "s", Service: "x", Start: end, End: end}, "evaluation window ends"},
		{"reversed window", Request{Project: "p", Stage: "s", Service: "x", Start: end, End: start}, "before it starts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.r.Indicators = []string{"throughput"}
			got, err := p.GetSLIs(context.Background(), tt.r)
			if err == nil || !strings.Contains(err.Error(), tt.want) || got != nil {
				t.Errorf("GetSLIs = %v, %v; want an error containing %q", got, err, tt.want)
			}
		})
	}
}

func TestGetSLIsPrometheusUnreachable(t *testing.T) {
	// A port that was free a moment ago refuses connections.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	p := newProviderT(t, Config{URL: url, BasicAuthUser: "shipgate", BasicAuthPassword: "hunter2"})
	r := baseRequest()
	r.Indicators = []string{"throughput", "error_rate", "response_time_p95"}
	got, err := p.GetSLIs(context.Background(), r)
	if err != nil {
		t.Fatalf("GetSLIs: %v", err)
	}
	for _, v := range got {
		want := "Prometheus at " + url + " is unreachable: dial tcp " + ln.Addr().String() + ": connect: connection refused"
		if v.Success || v.Message != want || v.Query == "" {
			t.Errorf("%s: got %+v\nwant message %q", v.Metric, v, want)
		}
		if strings.Contains(v.Message, "hunter2") {
			t.Errorf("message leaks the password: %s", v.Message)
		}
	}
}

func TestGetSLIsSendsCredentials(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"none", Config{}, ""},
		{"bearer", Config{BearerToken: "tok3n"}, "Bearer tok3n"},
		{"basic", Config{BasicAuthUser: "shipgate", BasicAuthPassword: "hunter2"}, "Basic c2hpcGdhdGU6aHVudGVyMg=="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFakePrometheus(t, map[string]answer{"up": vector("1")})
			tt.cfg.URL = fake.URL
			r := baseRequest()
			r.Indicators, r.Queries = []string{"up"}, map[string]string{"up": "up"}
			if _, err := newProviderT(t, tt.cfg).GetSLIs(context.Background(), r); err != nil {
				t.Fatal(err)
			}
			if got := fake.received()[0].auth; got != tt.want {
				t.Errorf("Authorization = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestGetSLIsRefusedCredentialsDoNotLeak(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "unauthorized", http.StatusUnauthorized)
	}))
	defer srv.Close()
	p := newProviderT(t, Config{URL: srv.URL, BearerToken: "tok3n"})
	r := baseRequest()
	r.Indicators = []string{"throughput"}
	got, err := p.GetSLIs(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	want := "Prometheus at " + srv.URL + " answered client_error: client error: 401"
	if got[0].Success || got[0].Message != want {
		t.Errorf("got %+v, want message %q", got[0], want)
	}
	if strings.Contains(fmt.Sprintf("%+v", got), "tok3n") {
		t.Errorf("values leak the token: %+v", got)
	}
}

// blockingTransport stands in for the network inside a synctest bubble: each request waits until release
// is closed (then gets one sample) or its context ends.
type blockingTransport struct {
	release chan struct{}

	mu               sync.Mutex
	inFlight, peaked int
}

func (b *blockingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	b.mu.Lock()
	b.inFlight++
	b.peaked = max(b.peaked, b.inFlight)
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		b.inFlight--
		b.mu.Unlock()
	}()
	select {
	case <-b.release:
		body := vector("1").body
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(body)), Request: req}, nil
	case <-req.Context().Done():
		return nil, req.Context().Err()
	}
}

func (b *blockingTransport) counts() (inFlight, peaked int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.inFlight, b.peaked
}

func manyIndicators(n int) Request {
	r := baseRequest()
	r.Queries = map[string]string{}
	for i := range n {
		name := fmt.Sprintf("sli%d", i)
		r.Indicators = append(r.Indicators, name)
		r.Queries[name] = "q" + strconv.Itoa(i)
	}
	return r
}

func TestGetSLIsBoundsConcurrency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := &blockingTransport{release: make(chan struct{})}
		p, err := newProvider(Config{URL: "http://prometheus:9090"}, tr)
		if err != nil {
			t.Fatal(err)
		}
		var got []Value
		done := make(chan error)
		go func() {
			var err error
			got, err = p.GetSLIs(context.Background(), manyIndicators(12))
			done <- err
		}()
		synctest.Wait()
		if inFlight, _ := tr.counts(); inFlight != DefaultConcurrency {
			t.Errorf("%d queries in flight, want %d", inFlight, DefaultConcurrency)
		}
		close(tr.release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if _, peaked := tr.counts(); peaked != DefaultConcurrency {
			t.Errorf("at most %d queries ran at once, want %d", peaked, DefaultConcurrency)
		}
		for _, v := range got {
			if !v.Success || v.Value != 1 {
				t.Errorf("%+v", v)
			}
		}
	})
}

func TestGetSLIsTimesOutEachQuery(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := &blockingTransport{release: make(chan struct{})} // never released
		p, err := newProvider(Config{URL: "http://prometheus:9090"}, tr)
		if err != nil {
			t.Fatal(err)
		}
		began := time.Now()
		got, err := p.GetSLIs(context.Background(), manyIndicators(7))
		if err != nil {
			t.Fatal(err)
		}
		// Five run at once and time out together, then the last two: two timeouts in a row.
		if took := time.Since(began); took != 2*config.DefaultPrometheusTimeout {
			t.Errorf("took %v, want %v", took, 2*config.DefaultPrometheusTimeout)
		}
		for _, v := range got {
			if want := "query to Prometheus at http://prometheus:9090 timed out after 30s"; v.Success || v.Message != want {
				t.Errorf("got %+v, want message %q", v, want)
			}
		}
	})
}

func TestGetSLIsCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tr := &blockingTransport{release: make(chan struct{})}
		p, err := newProvider(Config{URL: "http://prometheus:9090", Timeout: time.Minute}, tr)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		got, err := p.GetSLIs(ctx, manyIndicators(7))
		if !errors.Is(err, context.DeadlineExceeded) || got != nil {
			t.Errorf("GetSLIs = %v, %v; want the context's error and no values", got, err)
		}
	})
}

// writeCA writes the certificate of a TLS test server as a PEM file and returns its path.
func writeCA(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestGetSLIsTLS(t *testing.T) {
	fake := &fakePrometheus{answers: map[string]answer{"up": vector("1")}}
	fake.Server = httptest.NewUnstartedServer(http.HandlerFunc(fake.serve))
	// The client that distrusts the certificate makes the server log a handshake error; that is expected.
	fake.Config.ErrorLog = log.New(io.Discard, "", 0)
	fake.StartTLS()
	defer fake.Close()
	ca := writeCA(t, fake.Server)
	tests := []struct {
		name    string
		cfg     Config
		message string
	}{
		{"trusted CA file", Config{CAFile: ca}, ""},
		{"insecure", Config{InsecureSkipVerify: true}, ""},
		{"system roots", Config{}, "cannot query Prometheus at " + fake.URL + ": tls: failed to verify certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.URL = fake.URL
			r := baseRequest()
			r.Indicators, r.Queries = []string{"up"}, map[string]string{"up": "up"}
			got, err := newProviderT(t, tt.cfg).GetSLIs(context.Background(), r)
			if err != nil {
				t.Fatal(err)
			}
			if tt.message == "" && !got[0].Success || tt.message != "" && !strings.HasPrefix(got[0].Message, tt.message) {
				t.Errorf("got %+v, want message %q", got[0], tt.message)
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	notPEM := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(notPEM, []byte("nothing here"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no URL", Config{}, `prometheus URL "" is not an http(s) URL`},
		{"other scheme", Config{URL: "ftp://prom"}, "is not an http(s) URL"},
		{"credentials in the URL", Config{URL: "http://u:secret@prom"}, `"http://u:xxxxx@prom" contains credentials`},
		{"malformed URL with credentials", Config{URL: "http://u:secret@[prom"}, "prometheus URL is not a URL: missing ']' in host"},
		{"two kinds of credentials", Config{URL: "http://prom", BearerToken: "t", BasicAuthUser: "u"}, "either a bearer token or basic auth"},
		{"missing CA file", Config{URL: "https://prom", CAFile: "/nonexistent/ca.pem"}, "reading the Prometheus CA file: open /nonexistent/ca.pem"},
		{"CA file without certificates", Config{URL: "https://prom", CAFile: notPEM}, "holds no PEM certificate"},
		{"negative timeout", Config{URL: "http://prom", Timeout: -time.Second}, "must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, %v; want an error containing %q", p, err, tt.want)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("error leaks the URL's password: %v", err)
			}
		})
	}
}

func TestFromConfig(t *testing.T) {
	pc := &config.PrometheusConfig{
		URL:       "https://prom.example.org",
		Timeout:   10 * time.Second,
		BasicAuth: &config.PrometheusBasicAuth{Username: "shipgate", Password: "hunter2"},
		TLS:       &config.PrometheusTLS{CAFile: "/etc/ssl/prom.pem", InsecureSkipVerify: true},
	}
	got, err := FromConfig(pc)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{URL: "https://prom.example.org", Timeout: 10 * time.Second, BasicAuthUser: "shipgate",
		BasicAuthPassword: "hunter2", CAFile: "/etc/ssl/prom.pem", InsecureSkipVerify: true}
	if got != want {
		t.Errorf("FromConfig = %+v\nwant %+v", got, want)
	}
	got, err = FromConfig(&config.PrometheusConfig{URL: "http://prom:9090", BearerToken: "tok"})
	if err != nil || got.BearerToken.Reveal() != "tok" || got.BasicAuthUser != "" || got.CAFile != "" {
		t.Errorf("FromConfig with a bearer token = %+v, %v", got, err)
	}
	if _, err := FromConfig(nil); err == nil {
		t.Error("FromConfig(nil) gave no error")
	}
}
