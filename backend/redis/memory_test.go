package redis

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/redistest"
)

func usedMemory(t testing.TB, b *Backend) int64 {
	t.Helper()
	n, err := b.UsedMemory(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// noopJob is a queued no-op job as the client builds it.
func noopJob(q string) *backend.Job {
	return &backend.Job{ID: backend.NewJobID(), Kind: "noop", Queue: q, Args: []byte(`{}`), MaxRetries: 25, CreatedAt: time.Now()}
}

func TestBytesPerQueuedJob(t *testing.T) {
	const n = 50_000
	b, _ := openTest(t)
	ctx := context.Background()
	mustEnqueue(t, b, noopJob("q")) // the queue's keys exist before measuring
	before := usedMemory(t, b)
	jobs := make([]*backend.Job, n)
	for i := range jobs {
		jobs[i] = noopJob("q")
	}
	if err := b.Enqueue(ctx, jobs); err != nil {
		t.Fatal(err)
	}
	per := float64(usedMemory(t, b)-before) / n
	payload, _ := jobs[0].MarshalBinary()
	t.Logf("Redis bytes per queued no-op job: %.1f (payload %d B)", per, len(payload))
	if per > 120 {
		t.Fatalf("%.1f bytes per queued job, floor is 120", per)
	}
}

func TestBytesPerDeadJob(t *testing.T) {
	const n = 8_000 // below the default dead cap of 10,000
	b, _ := openTest(t)
	ctx := context.Background()
	jobs := make([]*backend.Job, n)
	for i := range jobs {
		jobs[i] = noopJob("q")
	}
	mustEnqueue(t, b, jobs...)
	fs, err := b.Fetch(ctx, "p", []string{"q"}, n)
	if err != nil || len(fs) != n {
		t.Fatalf("fetched %d, %v", len(fs), err)
	}
	inFlight := usedMemory(t, b)
	res := make([]backend.Result, n)
	now := time.Now()
	for i, f := range fs {
		j := f.Job.Clone()
		j.Attempt = 25
		j.ErrorClass, j.ErrorMessage, j.ErrorFingerprint = "*errors.errorString", "boom: connection refused", "noop|boom"
		j.FailedAt, j.DiedAt = now, now
		res[i] = backend.Result{Fetched: f, Outcome: backend.OutcomeDead, Job: j}
	}
	if err := b.Complete(ctx, "p", res); err != nil {
		t.Fatal(err)
	}
	afterDead := usedMemory(t, b)
	// The baseline is the same server without the dead set.
	if err := b.c.Do(ctx, b.c.B().Del().Key(qDead("q")).Build()).Error(); err != nil {
		t.Fatal(err)
	}
	empty := usedMemory(t, b)
	per := float64(afterDead-empty) / n
	payload, _ := res[0].Job.MarshalBinary()
	t.Logf("Redis bytes per dead job: %.1f (payload %d B; per in-flight job: %.1f)", per, len(payload), float64(inFlight-empty)/n)
	if per > 300 {
		t.Fatalf("%.1f bytes per dead job, floor is 300", per)
	}
}

// TestStoreFull: at maxmemory, enqueue fails with ErrStoreFull and stores
// nothing of the failed chunk, while fetch and complete keep draining.
func TestStoreFull(t *testing.T) {
	ctx := context.Background()
	b, srv := openTest(t, redistest.Options{MaxMemory: "2mb"})
	var enqueued []*backend.Job
	var full error
	for i := 0; i < 1000 && full == nil; i++ {
		chunk := make([]*backend.Job, 100)
		for k := range chunk {
			chunk[k] = noopJob("q")
			chunk[k].Args = make([]byte, 200)
		}
		if full = b.Enqueue(ctx, chunk); full == nil {
			enqueued = append(enqueued, chunk...)
		}
	}
	if !errors.Is(full, backend.ErrStoreFull) {
		t.Fatalf("enqueue into a full Redis: %v, want ErrStoreFull", full)
	}
	size, _ := srv.Do("LLEN", qJobs("q"))
	if n, _ := strconv.Atoi(size); n != len(enqueued) {
		t.Fatalf("queue holds %d jobs, %d enqueues succeeded: the failed chunk was partly stored", n, len(enqueued))
	}
	// Scheduled and callback jobs go through the script: also refused.
	later := noopJob("q")
	later.RunAt = time.Now().Add(time.Hour)
	if err := b.Enqueue(ctx, []*backend.Job{later}); !errors.Is(err, backend.ErrStoreFull) {
		t.Fatalf("scheduled enqueue into a full Redis: %v", err)
	}
	// Heartbeats and leases still work, and workers drain the queue.
	if err := b.Heartbeat(ctx, backend.ProcessInfo{ID: "p"}, time.Minute); err != nil {
		t.Fatalf("heartbeat at maxmemory: %v", err)
	}
	if ok, err := b.Lease(ctx, "poller", "p", time.Minute); err != nil || !ok {
		t.Fatalf("lease at maxmemory: %v, %v", ok, err)
	}
	drained := 0
	for {
		fs, err := b.Fetch(ctx, "p", []string{"q"}, 200)
		if err != nil {
			t.Fatalf("fetch at maxmemory: %v", err)
		}
		if len(fs) == 0 {
			break
		}
		res := make([]backend.Result, len(fs))
		for i, f := range fs {
			res[i] = backend.Result{Fetched: f, Outcome: backend.OutcomeSucceeded}
		}
		if err := b.Complete(ctx, "p", res); err != nil {
			t.Fatalf("complete at maxmemory: %v", err)
		}
		drained += len(fs)
	}
	if drained != len(enqueued) {
		t.Fatalf("drained %d of %d jobs", drained, len(enqueued))
	}
	if err := b.Enqueue(ctx, []*backend.Job{noopJob("q")}); err != nil {
		t.Fatalf("enqueue after draining: %v", err)
	}
}
