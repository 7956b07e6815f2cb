package redis

import (
	"context"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/benchrun"
)

// commandCalls returns Redis's command counts (commands run by scripts
// included), less the measurement's INFO and the clients' keep-alive PINGs.
func commandCalls(t *testing.T, b *Backend) benchrun.CommandStats {
	t.Helper()
	info, err := b.c.Do(context.Background(), b.c.B().Info().Section("commandstats").Build()).ToString()
	if err != nil {
		t.Fatal(err)
	}
	st, err := benchrun.ParseCommandStats(info)
	if err != nil {
		t.Fatal(err)
	}
	delete(st, "info")
	delete(st, "ping")
	return st
}

func callsDelta(before, after benchrun.CommandStats) (map[string]int64, int64) {
	d := map[string]int64{}
	var total int64
	for k, v := range after {
		if n := v - before[k]; n != 0 {
			d[k] = n
			total += n
		}
	}
	return d, total
}

// CancelJob of a queued job runs as many commands in a queue of 50,000 jobs
// as in one of 10: its cost does not grow with the queue.
func TestCancelJobCommandsIndependentOfQueueLength(t *testing.T) {
	var totals []int64
	for _, n := range []int{10, 50_000} {
		b, _ := openTest(t)
		ctx := context.Background()
		var mid string
		for left := n; left > 0; {
			chunk := make([]*backend.Job, min(left, 1000))
			for i := range chunk {
				chunk[i] = newJob("q")
				if left-i == n/2 {
					mid = chunk[i].ID
				}
			}
			mustEnqueue(t, b, chunk...)
			left -= len(chunk)
		}
		// The same scheduled and retry sets in both: their size sets the
		// cost of looking there.
		for range 3 {
			j := newJob("q")
			j.RunAt = time.Now().Add(time.Hour)
			mustEnqueue(t, b, j)
		}
		if err := b.Heartbeat(ctx, backend.ProcessInfo{ID: "p1", Queues: []string{"q"}}, time.Hour); err != nil {
			t.Fatal(err)
		}
		before := commandCalls(t, b)
		r, err := b.CancelJob(ctx, "q", mid)
		if err != nil || r != backend.CancelQueued {
			t.Fatalf("CancelJob = %v, %v; want CancelQueued", r, err)
		}
		byCmd, total := callsDelta(before, commandCalls(t, b))
		t.Logf("queue of %d jobs: CancelJob ran %d commands: %v", n, total, byCmd)
		totals = append(totals, total)
	}
	if totals[0] != totals[1] {
		t.Fatalf("CancelJob ran %d commands in a queue of 10 jobs, %d in one of 50,000: want the same", totals[0], totals[1])
	}
}

// With no job cancelled, a fetch reads no cancel state beyond one EXISTS:
// no set command runs.
func TestFetchWithoutCancelsReadsOneGuard(t *testing.T) {
	b, _ := openTest(t)
	js := make([]*backend.Job, 20)
	for i := range js {
		js[i] = newJob("q")
	}
	mustEnqueue(t, b, js...)
	mustFetch(t, b, "p1", "q", 1) // registers the queue: not part of the measure
	before := commandCalls(t, b)
	if got := mustFetch(t, b, "p1", "q", 10); len(got) != 10 {
		t.Fatalf("fetched %d, want 10", len(got))
	}
	byCmd, _ := callsDelta(before, commandCalls(t, b))
	t.Logf("one fetch of 10 jobs: %v", byCmd)
	for _, c := range []string{"smismember", "sismember", "srem", "del", "smembers"} {
		if byCmd[c] != 0 {
			t.Fatalf("a fetch with no cancelled job ran %s: %v", c, byCmd)
		}
	}
	// LPOP, HSET, EXISTS paused, EXISTS cancel (and the bell's EXISTS on
	// a full chunk).
	if byCmd["exists"] > 3 || byCmd["lpop"] != 1 || byCmd["hset"] != 1 {
		t.Fatalf("a fetch with no cancelled job ran %v", byCmd)
	}
}
