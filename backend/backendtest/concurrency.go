package backendtest

import (
	"fmt"
	"sync"
	"time"

	"github.com/joblot/joblot/backend"
)

// concurrencyTests cover concurrent use: no job handed to two fetchers, and
// many jobs all run exactly once.
func concurrencyTests() []test {
	return []test{
		{name: "ConcurrentFetchersNeverShareAJob", run: testConcurrentFetch},
	}
}

// testConcurrentFetch runs 5,000 jobs with four processes fetching and
// acking concurrently, in chunks, and checks each ran exactly once and
// nothing is left anywhere.
func testConcurrentFetch(h *harness) {
	const total, workers = 5000, 4
	js := h.jobs("default", total)
	for i := 0; i < total; i += 500 {
		h.enqueue(js[i : i+500]...)
	}
	var (
		mu   sync.Mutex
		runs = map[string]int{}
		errs = make(chan error, workers)
		wg   sync.WaitGroup
	)
	for w := range workers {
		p := h.proc(fmt.Sprintf("worker-%d", w), "default")
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				res, err := h.b.Fetch(h.ctx, backend.FetchParams{Proc: p, Queues: []string{"default"}, Max: 50})
				fs := res.Jobs
				if err != nil {
					errs <- fmt.Errorf("Fetch: %w", err)
					return
				}
				if len(fs) == 0 {
					return
				}
				if len(fs) > 50 {
					errs <- fmt.Errorf("Fetch returned %d > 50 jobs", len(fs))
					return
				}
				results := make([]backend.Result, len(fs))
				mu.Lock()
				for i, f := range fs {
					runs[f.ID]++
					results[i] = succeeded(f)
				}
				mu.Unlock()
				if err := h.b.Complete(h.ctx, p, results); err != nil {
					errs <- fmt.Errorf("Complete: %w", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		h.t.Fatal(err)
	}
	for _, j := range js {
		if runs[j.ID] != 1 {
			h.t.Fatalf("job %s ran %d times, want exactly once", j.ID, runs[j.ID])
		}
	}
	if len(runs) != total {
		h.t.Fatalf("%d distinct jobs ran, want %d", len(runs), total)
	}
	s := h.stats(time.Now())
	if s.Processed != total {
		h.t.Fatalf("Processed = %d, want %d", s.Processed, total)
	}
	if q, _ := queueByName(s, "default"); q.Size != 0 || q.InFlight != 0 {
		h.t.Fatalf("queue stats at the end = %+v", q)
	}
}
