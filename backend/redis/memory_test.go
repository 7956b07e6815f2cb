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
	if _, err := b.Enqueue(ctx, jobs); err != nil {
		t.Fatal(err)
	}
	per := float64(usedMemory(t, b)-before) / n
	payload, _ := jobs[0].MarshalBinary()
	t.Logf("Redis bytes per queued no-op job: %.1f (payload %d B)", per, len(payload))
	if per > 120 {
		t.Fatalf("%.1f bytes per queued job, floor is 120", per)
	}
}

// benchDeadJob is a job of the shape `joblot bench --fail-rate 1 --retries
// 0` kills: a small args object, one error shape for every job.
func benchDeadJob(q string, created time.Time) *backend.Job {
	return &backend.Job{
		ID: backend.NewJobID(), Kind: "joblot_bench", Queue: q,
		Args:       []byte(`{"n":` + strconv.Itoa(int(created.UnixNano()%100000)) + `,"t":` + strconv.FormatInt(created.UnixNano(), 10) + `}`),
		MaxRetries: -1, CreatedAt: created,
	}
}

// TestBytesPerDeadJob: a dead job of the bench's shape costs at most 200
// bytes of Redis memory: used_memory with 10,000 of them (the default dead
// cap) less used_memory once the dead set and the queue's stats hash (the
// counters and the failure details the entries share) are deleted. With
// data model 3's layout (whole jobs as members) it was about 318 bytes.
func TestBytesPerDeadJob(t *testing.T) {
	const n = backend.DefaultDeadMaxJobs
	b, _ := openTest(t)
	ctx := context.Background()
	now := time.Now()
	jobs := make([]*backend.Job, n)
	for i := range jobs {
		jobs[i] = benchDeadJob("q", now.Add(-time.Second))
	}
	mustEnqueue(t, b, jobs...)
	fr, err := b.Fetch(ctx, backend.FetchParams{Proc: "p", Queues: []string{"q"}, Max: n})
	fs := fr.Jobs
	if err != nil || len(fs) != n {
		t.Fatalf("fetched %d, %v", len(fs), err)
	}
	inFlight := usedMemory(t, b)
	res := make([]backend.Result, n)
	for i, f := range fs {
		j := f.Job.Clone()
		j.Attempt = 1
		j.ErrorClass, j.ErrorMessage = `errors.New("bench: this job fails on purpose")`, "bench: this job fails on purpose"
		j.ErrorFingerprint = "2:f69b1f7433939dbb"
		j.FailedAt, j.DiedAt = now, now
		res[i] = backend.Result{Fetched: f, Outcome: backend.OutcomeDead, Job: j}
	}
	if err := b.Complete(ctx, "p", res); err != nil {
		t.Fatal(err)
	}
	if d := queueStats(mustStats(t, b), "q").Dead; d != n {
		t.Fatalf("%d dead jobs, want %d", d, n)
	}
	afterDead := usedMemory(t, b)
	// The baseline is the same server without the dead set and what it
	// keeps in the stats hash.
	if err := b.c.Do(ctx, b.c.B().Del().Key(b.keys.QDead("q"), b.keys.QStats("q")).Build()).Error(); err != nil {
		t.Fatal(err)
	}
	empty := usedMemory(t, b)
	per := float64(afterDead-empty) / n
	entry := backend.EncodeDead(res[0].Job, now.UnixMilli()).Shared
	payload, _ := res[0].Job.MarshalBinary()
	t.Logf("Redis bytes per dead job: %.1f (entry %d B, whole job %d B; per in-flight job: %.1f)", per, len(entry), len(payload), float64(inFlight-empty)/n)
	if per > 200 {
		t.Fatalf("%.1f bytes per dead job, at most 200 wanted", per)
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
		if _, full = b.Enqueue(ctx, chunk); full == nil {
			enqueued = append(enqueued, chunk...)
		}
	}
	if !errors.Is(full, backend.ErrStoreFull) {
		t.Fatalf("enqueue into a full Redis: %v, want ErrStoreFull", full)
	}
	size, _ := srv.Do("LLEN", b.keys.QJobs("q"))
	if n, _ := strconv.Atoi(size); n != len(enqueued) {
		t.Fatalf("queue holds %d jobs, %d enqueues succeeded: the failed chunk was partly stored", n, len(enqueued))
	}
	// Pin the store at its limit: used memory can dip back under 2mb as
	// Redis frees buffers, and a small write then fits now and then.
	if _, err := srv.Do("CONFIG", "SET", "maxmemory", "1"); err != nil {
		t.Fatal(err)
	}
	// Scheduled and callback jobs go through the script: also refused.
	later := noopJob("q")
	later.RunAt = time.Now().Add(time.Hour)
	if _, err := b.Enqueue(ctx, []*backend.Job{later}); !errors.Is(err, backend.ErrStoreFull) {
		t.Fatalf("scheduled enqueue into a full Redis: %v", err)
	}
	// Heartbeats and leases still work, and workers drain the queue.
	if err := b.Heartbeat(ctx, backend.ProcessInfo{ID: "p"}, time.Minute); err != nil {
		t.Fatalf("heartbeat at maxmemory: %v", err)
	}
	if res, err := b.Lease(ctx, backend.LeaseParams{Name: "poller", Holder: "p", TTL: time.Minute}); err != nil || !res.Held {
		t.Fatalf("lease at maxmemory: %v, %v", res.Held, err)
	}
	drained := 0
	for {
		fr, err := b.Fetch(ctx, backend.FetchParams{Proc: "p", Queues: []string{"q"}, Max: 200})
		fs := fr.Jobs
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
	if _, err := srv.Do("CONFIG", "SET", "maxmemory", "2mb"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Enqueue(ctx, []*backend.Job{noopJob("q")}); err != nil {
		t.Fatalf("enqueue after draining: %v", err)
	}
}

// processAll fetches and completes every queued job of q, letting decide
// choose each outcome.
func processAll(t testing.TB, b *Backend, q string, decide func(f *backend.Fetched) backend.Result) {
	t.Helper()
	ctx := context.Background()
	for {
		fr, err := b.Fetch(ctx, backend.FetchParams{Proc: "p", Queues: []string{q}, Max: 500})
		fs := fr.Jobs
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) == 0 {
			return
		}
		res := make([]backend.Result, len(fs))
		for i, f := range fs {
			res[i] = decide(f)
		}
		if err := b.Complete(ctx, "p", res); err != nil {
			t.Fatal(err)
		}
	}
}

// batchBytes sums MEMORY USAGE over a batch's keys and its pages.
func batchBytes(t testing.TB, b *Backend, id string) int64 {
	t.Helper()
	var sum int64
	for _, k := range append(b.keys.BatchKeys(id), pageKeys(t, b, id)...) {
		n, err := b.c.Do(context.Background(), b.c.B().MemoryUsage().Key(k).Samples(0).Build()).AsInt64()
		if err == nil {
			sum += n
		}
	}
	return sum
}

// TestBatchBookkeepingBytesPerJob: a batch of 100,000 jobs, 30% of which
// die over 10 distinct errors, costs at most 1 byte of batch state per job,
// and its state does not grow with its failures.
func TestBatchBookkeepingBytesPerJob(t *testing.T) {
	const n = 100_000
	ctx := context.Background()
	b, _ := openTest(t, redistest.Options{})
	b.limits.DeadMaxJobs = 1000
	id := "big"
	if err := b.CreateBatch(ctx, &backend.BatchSpec{ID: id}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i += 10_000 {
		jobs := make([]*backend.Job, 10_000)
		for k := range jobs {
			jobs[k] = noopJob("q")
		}
		if err := b.AddToBatch(ctx, &backend.BatchAdd{BatchID: id, Jobs: jobs}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.CommitBatch(ctx, id); err != nil {
		t.Fatal(err)
	}
	i := 0
	now := time.Now()
	processAll(t, b, "q", func(f *backend.Fetched) backend.Result {
		i++
		if i%10 < 3 {
			j := f.Job.Clone()
			j.ErrorClass = "E" + strconv.Itoa(i%17)
			j.ErrorMessage = "failure number " + strconv.Itoa(i) + " of class " + j.ErrorClass
			j.ErrorFingerprint = "noop|" + j.ErrorClass
			j.DiedAt = now
			return backend.Result{Fetched: f, Outcome: backend.OutcomeDead, Job: j}
		}
		return backend.Result{Fetched: f, Outcome: backend.OutcomeSucceeded}
	})
	st, err := b.BatchStatus(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Total != n || st.Dead != 30_000 || st.Succeeded != 70_000 || st.CompleteAt.IsZero() || st.DeathAt.IsZero() {
		t.Fatalf("status: %+v", st)
	}
	per := float64(batchBytes(t, b, id)) / n
	t.Logf("batch bookkeeping: %.3f bytes per job (%d error groups)", per, len(st.ErrorGroups))
	if per > 1 {
		t.Fatalf("%.3f bytes of batch state per job, floor is 1", per)
	}
	// The 2-bit states are made at their full size: n/4 bytes in pages
	// (every page here holds dead jobs, so none is dropped), rounded up by
	// the allocator's size class and a key per page (at most a quarter
	// more), not the up to 2× that BITFIELD's greedy growth leaves.
	var bits int64
	for _, k := range pageKeys(t, b, id) {
		n, err := b.c.Do(ctx, b.c.B().MemoryUsage().Key(k).Samples(0).Build()).AsInt64()
		if err != nil {
			t.Fatal(err)
		}
		bits += n
	}
	if max := int64(n/4*5/4 + 64); bits > max {
		t.Errorf("job states take %d B for %d jobs, want at most %d", bits, n, max)
	}
}

// TestBytesPerRetryingJob: a retrying job costs at most 400 bytes of Redis
// beyond its payload.
func TestBytesPerRetryingJob(t *testing.T) {
	const n = 8_000
	b, _ := openTest(t)
	// Create the queue's stats keys first, so they are not counted.
	mustEnqueue(t, b, noopJob("q"))
	processAll(t, b, "q", func(f *backend.Fetched) backend.Result {
		return backend.Result{Fetched: f, Outcome: backend.OutcomeSucceeded}
	})
	before := usedMemory(t, b)
	jobs := make([]*backend.Job, n)
	for i := range jobs {
		jobs[i] = noopJob("q")
	}
	mustEnqueue(t, b, jobs...)
	var payloadBytes int64
	due := time.Now().Add(time.Hour)
	processAll(t, b, "q", func(f *backend.Fetched) backend.Result {
		j := f.Job.Clone()
		j.Attempt++
		j.ErrorClass, j.ErrorMessage, j.ErrorFingerprint = "*net.OpError", "dial tcp 10.0.0.1:443: connect: connection refused", "noop|*net.OpError|dial tcp"
		j.FailedAt = time.Now()
		p, _ := j.MarshalBinary()
		payloadBytes += int64(len(p))
		return backend.Result{Fetched: f, Outcome: backend.OutcomeRetry, Job: j, RetryAt: due}
	})
	if qs := queueStats(mustStats(t, b), "q"); qs.Retry != n {
		t.Fatalf("retry set holds %d, want %d", qs.Retry, n)
	}
	per := float64(usedMemory(t, b)-before)/n - float64(payloadBytes)/n
	t.Logf("Redis bytes per retrying job beyond its payload: %.1f (payload %.0f B)", per, float64(payloadBytes)/n)
	if per > 400 {
		t.Fatalf("%.1f bytes per retrying job beyond its payload, floor is 400", per)
	}
}

// TestAddToBatchAtMaxMemoryCountsNoPhantoms: a population that fails at
// maxmemory leaves a batch that counts exactly the jobs that were stored,
// so it can still complete.
func TestAddToBatchAtMaxMemoryCountsNoPhantoms(t *testing.T) {
	ctx := context.Background()
	b, srv := openTest(t, redistest.Options{MaxMemory: "2mb"})
	if err := b.CreateBatch(ctx, &backend.BatchSpec{ID: "pop", Callbacks: map[backend.CallbackEvent]*backend.Job{
		backend.CallbackComplete: {Kind: "done", Queue: "cb"}}}); err != nil {
		t.Fatal(err)
	}
	var err error
	for i := 0; i < 1000 && err == nil; i++ {
		chunk := make([]*backend.Job, 100)
		for k := range chunk {
			chunk[k] = noopJob("q")
			chunk[k].Args = make([]byte, 200)
		}
		err = b.AddToBatch(ctx, &backend.BatchAdd{BatchID: "pop", Jobs: chunk})
	}
	if !errors.Is(err, backend.ErrStoreFull) {
		t.Fatalf("AddToBatch into a full Redis: %v", err)
	}
	st, err := b.BatchStatus(ctx, "pop")
	if err != nil {
		t.Fatal(err)
	}
	size, _ := srv.Do("LLEN", b.keys.QJobs("q"))
	if itoa(st.Total-st.Removed) != size || st.Pending != st.Total-st.Removed {
		t.Fatalf("batch counts total %d (removed %d, pending %d), queue holds %s", st.Total, st.Removed, st.Pending, size)
	}
	processAll(t, b, "q", func(f *backend.Fetched) backend.Result {
		return backend.Result{Fetched: f, Outcome: backend.OutcomeSucceeded}
	})
	if err := b.CommitBatch(ctx, "pop"); err != nil {
		t.Fatal(err)
	}
	if st, _ := b.BatchStatus(ctx, "pop"); st.CompleteAt.IsZero() {
		t.Fatalf("batch did not complete: %+v", st)
	}
}

var _ backend.MemoryReporter = (*Backend)(nil)

// TestMemoryReportsUsedAndLimit: Memory reads used_memory and maxmemory.
func TestMemoryReportsUsedAndLimit(t *testing.T) {
	for _, tc := range []struct {
		maxmemory string
		limit     int64
	}{{"", 0}, {"10mb", 10 << 20}} {
		t.Run("maxmemory="+tc.maxmemory, func(t *testing.T) {
			b, srv := openTest(t, redistest.Options{MaxMemory: tc.maxmemory})
			m, err := b.Memory(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			want, err := srv.Info("used_memory")
			if err != nil {
				t.Fatal(err)
			}
			w, _ := strconv.ParseInt(want, 10, 64)
			// used_memory moves a little between two INFO calls.
			if m.Limit != tc.limit || m.Used <= 0 || m.Used > 2*w || w > 2*m.Used {
				t.Fatalf("Memory = %+v, want limit %d and used near %d", m, tc.limit, w)
			}
		})
	}
}
