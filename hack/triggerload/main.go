// Command triggerload drives a running shipgate with deliveries at a steady rate through the delivery
// API and samples the size of its database's write-ahead log, to check the WAL stays bounded under
// load and is truncated once the load stops (issue 15):
//
//	go run ./hack/triggerload -server http://127.0.0.1:8080 -token "$SHIPGATE_TOKEN" \
//	    -project load -services svc0,svc1,svc2 -rate 50 -duration 60s -database data/shipgate.db
//
// It prints how many triggers were accepted, the WAL's peak size during the load, and how long after the
// load the WAL was empty.
package main

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	server := flag.String("server", "http://127.0.0.1:8080", "shipgate's base URL")
	token := flag.String("token", os.Getenv("SHIPGATE_TOKEN"), "an api.tokens token for the project")
	project := flag.String("project", "", "the project to deliver")
	services := flag.String("services", "", "comma-separated services, used in turn")
	rate := flag.Int("rate", 50, "triggers a second")
	duration := flag.Duration("duration", time.Minute, "how long to keep the rate")
	database := flag.String("database", "", "the database file; its -wal file is sampled every 50 ms")
	settle := flag.Duration("settle", time.Minute, "how long to wait for the WAL to empty after the load")
	flag.Parse()
	if *project == "" || *services == "" || *database == "" || *rate <= 0 {
		fmt.Fprintln(os.Stderr, "triggerload: -project, -services, -database and a positive -rate are required")
		os.Exit(2)
	}
	svcs := strings.Split(*services, ",")
	wal := *database + "-wal"

	var peak atomic.Int64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if fi, err := os.Stat(wal); err == nil && fi.Size() > peak.Load() {
				peak.Store(fi.Size())
			}
		}
	}()

	var sent, refused atomic.Int64
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Second / time.Duration(*rate))
	start := time.Now()
	for i := 0; time.Since(start) < *duration; i++ {
		<-tick.C
		wg.Go(func() {
			sent.Add(1)
			body := fmt.Sprintf(`{"project":%q,"service":%q,"image":"registry.example/load:v%d"}`, *project, svcs[i%len(svcs)], i)
			req, _ := http.NewRequest(http.MethodPost, *server+"/api/v1/deliveries", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+*token)
			req.Header.Set("Content-Type", "application/json")
			res, err := http.DefaultClient.Do(req)
			if err != nil || res.StatusCode != http.StatusAccepted {
				refused.Add(1)
			}
			if err == nil {
				res.Body.Close()
			}
		})
	}
	tick.Stop()
	wg.Wait()
	loaded := time.Since(start)
	fmt.Printf("%d triggers in %v (%d refused); WAL peak %.1f MB\n", sent.Load(), loaded.Round(time.Second), refused.Load(), float64(peak.Load())/1e6)

	deadline := time.Now().Add(*settle)
	for time.Now().Before(deadline) {
		if fi, err := os.Stat(wal); err == nil && fi.Size() == 0 {
			fmt.Printf("WAL empty %v after the load\n", time.Since(start.Add(loaded)).Round(100*time.Millisecond))
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	close(stop)
	<-sampled
	fi, err := os.Stat(wal)
	if err == nil && fi.Size() > 0 {
		fmt.Printf("WAL still %.1f MB %v after the load\n", float64(fi.Size())/1e6, *settle)
	}
	fmt.Printf("WAL peak %.1f MB\n", float64(peak.Load())/1e6)
}
