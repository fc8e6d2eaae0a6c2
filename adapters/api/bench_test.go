package api

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/shipgate/shipgate/store"
)

// benchShipyard keeps the engine's work per delivery small, so that the benchmark measures the API and
// the trigger's commit rather than the deliveries running behind it.
const benchShipyard = `apiVersion: spec.keptn.sh/0.2.2
kind: Shipyard
spec:
  stages:
    - name: qa
      sequences:
        - name: delivery
          tasks:
            - name: deployment
`

// measure runs fn b.N times and reports the p50 and p99 of its durations besides the mean.
func measure(b *testing.B, fn func(i int)) {
	durations := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		fn(i)
		durations = append(durations, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(durations)
	b.ReportMetric(float64(durations[len(durations)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(durations[len(durations)*99/100].Microseconds())/1000, "p99-ms")
}

// post sends one trigger over a kept-alive loopback connection and checks the status.
func post(b *testing.B, client *http.Client, url string, body []byte, want int) {
	req, err := http.NewRequest("POST", url, bytes.NewReader(body))
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+secret(tokCI))
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != want {
		b.Fatalf("status %d, want %d", res.StatusCode, want)
	}
}

// BenchmarkTrigger is POST /api/v1/deliveries end to end, one after another: HTTP on loopback, token
// check, JSON, the engine's validation and its commit to the SQLite file, and the answer; earlier
// deliveries run meanwhile.
func BenchmarkTrigger(b *testing.B) {
	f := newFixtureWith(b, benchShipyard)
	body := jsonBody(b, hello())
	client := f.srv.Client()
	measure(b, func(int) { post(b, client, f.srv.URL+"/api/v1/deliveries", body, http.StatusAccepted) })
}

// BenchmarkBareAuth is the same request against a handler that only reads the body, checks the token
// and answers 202: what HTTP and authentication cost, for comparison with BenchmarkTrigger.
func BenchmarkBareAuth(b *testing.B) {
	f := newFixtureWith(b, benchShipyard)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/deliveries", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		if err != nil {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
			return
		}
		if c, _ := f.api.auth.authenticate(r, body, false); c == nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_, _ = io.WriteString(w, `{"id":1}`+"\n")
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	body := jsonBody(b, hello())
	client := srv.Client()
	measure(b, func(int) { post(b, client, srv.URL+"/api/v1/deliveries", body, http.StatusAccepted) })
}

// BenchmarkListDeliveries is GET /api/v1/deliveries?limit=20 end to end after 500, 5,000 and 20,000
// deliveries: the first page, and a page from the middle of the history through its cursor. Neither
// should cost more as the history grows.
func BenchmarkListDeliveries(b *testing.B) {
	for _, n := range []int{500, 5000, 20000} {
		b.Run(fmt.Sprintf("history=%d", n), func(b *testing.B) {
			f := newFixtureWith(b, benchShipyard)
			ids := f.seedDeliveries(n, 1000, "fulltour", "shop")
			middle := encodeCursor(store.Position{At: f.deliveryCreated(ids[n/2]), ID: ids[n/2]})
			client := f.srv.Client()
			for _, page := range []struct{ name, query string }{
				{"first-page", "?limit=20"},
				{"middle-page", "?limit=20&cursor=" + middle},
			} {
				b.Run(page.name, func(b *testing.B) {
					measure(b, func(int) { get(b, client, f.srv.URL+"/api/v1/deliveries"+page.query, tokAdmin) })
				})
			}
		})
	}
}

// get sends one GET as a token over a kept-alive loopback connection and checks it is answered 200.
func get(b *testing.B, client *http.Client, url, tok string) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		b.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+secret(tok))
	res, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b.Fatalf("status %d", res.StatusCode)
	}
}
