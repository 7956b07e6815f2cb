package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// Bench fixture sizes (the 1,000,000-job fixture is for later: seeding it
// takes minutes on this machine).
const (
	benchQueued = 20000
	benchDead   = 2000
	benchQueues = 10
)

// seedBench fills b with benchQueued queued jobs over benchQueues queues
// and benchDead dead jobs in one queue.
func seedBench(b *testing.B, be backend.Backend) {
	b.Helper()
	ctx := context.Background()
	now := time.Now()
	for start := 0; start < benchQueued; start += 1000 {
		jobs := make([]*backend.Job, 1000)
		for k := range jobs {
			jobs[k] = &backend.Job{ID: backend.NewJobID(), Kind: "bench.work", Queue: fmt.Sprintf("q%d", (start+k)%benchQueues),
				Args: []byte(`{"n":1}`), CreatedAt: now}
		}
		if _, err := be.Enqueue(ctx, jobs); err != nil {
			b.Fatal(err)
		}
	}
	seed(b, be, []seedSpec{{set: backend.SetDead, queue: "deadq", kind: "bench.fail", errMsg: "boom", n: benchDead}})
}

// benchPage measures one page's full request (handler, store calls,
// rendering) and reports milliseconds per page.
func benchPage(b *testing.B, path string) {
	for name, be := range testBackends(b) {
		b.Run(name, func(b *testing.B) {
			seedBench(b, be)
			ts := mount(b, be, nil)
			client := &http.Client{}
			fetch := func() {
				resp, err := client.Get(ts.URL + mountPath + path)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("GET %s: %d", path, resp.StatusCode)
				}
			}
			fetch()
			b.ResetTimer()
			start := time.Now()
			for b.Loop() {
				fetch()
			}
			b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/page")
		})
	}
}

// BenchmarkOverview is the overview page on a seeded store.
func BenchmarkOverview(b *testing.B) { benchPage(b, "/") }

// BenchmarkDead is the first page of the dead set on a seeded store.
func BenchmarkDead(b *testing.B) { benchPage(b, "/jobs/dead") }

// BenchmarkDeadFiltered is a page of the dead set filtered by kind.
func BenchmarkDeadFiltered(b *testing.B) { benchPage(b, "/jobs/dead?kind=bench.fail&q=boom") }
