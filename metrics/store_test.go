package metrics

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// runStoreTests runs the store-derived metric tests against a real backend;
// open returns a fresh, empty store.
func runStoreTests(t *testing.T, open func(t *testing.T) backend.Backend) {
	t.Run("RefreshFillsGauges", func(t *testing.T) { testRefreshFillsGauges(t, open(t)) })
	t.Run("ScrapeDoesNotTouchStore", func(t *testing.T) { testScrapeDoesNotTouchStore(t, open(t)) })
	t.Run("RunRefreshesInBackground", func(t *testing.T) { testRunRefreshes(t, open(t)) })
	t.Run("BatchWindowCountsNewest", func(t *testing.T) { testBatchWindow(t, open(t)) })
}

func job(queue string) *backend.Job {
	return &backend.Job{ID: backend.NewJobID(), Kind: "noop", Queue: queue, Args: []byte(`{}`), MaxRetries: 25, CreatedAt: time.Now()}
}

// fillStore puts a known mix in the store: in queue "default" 3 queued, 2
// in flight and 1 dead job (distinct counts, so a swapped set shows); in "mail" 2 scheduled jobs; one process; one
// uncommitted batch, one running batch (with a queued job in "batchq") and
// one committed empty batch.
func fillStore(t *testing.T, b backend.Backend) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	must("Heartbeat", b.Heartbeat(ctx, backend.ProcessInfo{
		ID: "p1", Hostname: "h", PID: 1, Queues: []string{"default"}, Concurrency: 5, StartedAt: now,
	}, time.Minute))
	_, err := b.Enqueue(ctx, []*backend.Job{job("default"), job("default"), job("default"), job("default"), job("default"), job("default")})
	must("Enqueue", err)
	later := []*backend.Job{job("mail"), job("mail")}
	for _, j := range later {
		j.RunAt = now.Add(time.Hour)
	}
	_, err = b.Enqueue(ctx, later)
	must("Enqueue scheduled", err)

	fr, err := b.Fetch(ctx, backend.FetchParams{Proc: "p1", Queues: []string{"default"}, Max: 3})
	fs := fr.Jobs
	must("Fetch", err)
	if len(fs) != 3 {
		t.Fatalf("fetched %d jobs, want 3", len(fs))
	}
	dead := fs[0].Job.Clone()
	dead.Attempt++
	dead.ErrorClass, dead.ErrorMessage, dead.FailedAt, dead.DiedAt = "E", "boom", now, now
	must("Complete", b.Complete(ctx, "p1", []backend.Result{{Fetched: fs[0], Outcome: backend.OutcomeDead, Job: dead, Duration: time.Millisecond}}))

	must("CreateBatch populating", b.CreateBatch(ctx, &backend.BatchSpec{ID: backend.NewJobID(), CreatedAt: now, CommitDeadline: now.Add(time.Hour)}))
	running := backend.NewJobID()
	must("CreateBatch running", b.CreateBatch(ctx, &backend.BatchSpec{ID: running, CreatedAt: now, CommitDeadline: now.Add(time.Hour)}))
	must("AddToBatch", b.AddToBatch(ctx, &backend.BatchAdd{BatchID: running, Jobs: []*backend.Job{job("batchq")}}))
	must("CommitBatch running", b.CommitBatch(ctx, running))
	empty := backend.NewJobID()
	must("CreateBatch empty", b.CreateBatch(ctx, &backend.BatchSpec{ID: empty, CreatedAt: now, CommitDeadline: now.Add(time.Hour)}))
	must("CommitBatch empty", b.CommitBatch(ctx, empty))
}

func testRefreshFillsGauges(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	fillStore(t, b)
	c, reg := newTestCollector(b, Options{})

	if got := gather(t, reg, "joblot_queue_jobs"); got != nil {
		t.Fatalf("queue gauges before the first refresh: %v", describe(got))
	}
	if err := c.Refresh(ctx); err != nil {
		t.Fatalf("Refresh: %v", err)
	}

	for _, w := range []struct {
		queue, set string
		want       float64
	}{
		{"default", "queued", 3},
		{"default", "in_flight", 2},
		{"default", "dead", 1},
		{"default", "retry", 0},
		{"default", "scheduled", 0},
		{"mail", "scheduled", 2},
		{"mail", "queued", 0},
		{"batchq", "queued", 1},
	} {
		if got := find(t, reg, "joblot_queue_jobs", "queue", w.queue, "set", w.set).value; got != w.want {
			t.Errorf("joblot_queue_jobs{%s,%s} = %v, want %v", w.queue, w.set, got, w.want)
		}
	}
	if got := find(t, reg, "joblot_queue_latency_seconds", "queue", "default").value; got < 0 {
		t.Errorf("latency %v < 0", got)
	}
	if got := find(t, reg, "joblot_queue_paused", "queue", "default").value; got != 0 {
		t.Errorf("paused = %v, want 0", got)
	}
	if got := find(t, reg, "joblot_processes").value; got != 1 {
		t.Errorf("processes = %v, want 1", got)
	}

	// Store-wide counters: the store decides what counts as processed and
	// failed; the metrics must carry its numbers.
	st, err := b.Stats(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int64{
		"joblot_store_processed_total":      st.Processed,
		"joblot_store_failed_total":         st.Failed,
		"joblot_store_discarded_total":      st.Discarded,
		"joblot_dead_dropped_total":         st.DeadDropped,
		"joblot_expired_batch_events_total": st.ExpiredBatchEvents,
	} {
		if got := find(t, reg, name).value; got != float64(want) {
			t.Errorf("%s = %v, want %d", name, got, want)
		}
	}
	if st.Failed < 1 {
		t.Errorf("store counts %d failed after a job died; the failed counter is not exercised", st.Failed)
	}

	if got := find(t, reg, "joblot_batches", "state", "populating").value; got != 1 {
		t.Errorf("populating batches = %v, want 1", got)
	}
	if got := find(t, reg, "joblot_batches", "state", "running").value; got != 1 {
		t.Errorf("running batches = %v, want 1", got)
	}
	var total float64
	for _, s := range gather(t, reg, "joblot_batches") {
		total += s.value
	}
	if total != 3 {
		t.Errorf("batches over all states = %v, want 3: %v", total, describe(gather(t, reg, "joblot_batches")))
	}
	if len(gather(t, reg, "joblot_batches")) != len(batchStates) {
		t.Errorf("want every state reported, got %v", describe(gather(t, reg, "joblot_batches")))
	}

	_, reports := b.(backend.MemoryReporter)
	used, hasUsed := lookup(t, reg, "joblot_store_memory_used_bytes")
	if hasUsed != reports {
		t.Errorf("memory used gauge present = %v, backend reports memory = %v", hasUsed, reports)
	}
	if reports && used.value <= 0 {
		t.Errorf("memory used = %v, want > 0", used.value)
	}
	if _, ok := lookup(t, reg, "joblot_metrics_last_refresh_timestamp_seconds"); !ok {
		t.Error("no last refresh timestamp after a successful refresh")
	}
}

func testScrapeDoesNotTouchStore(t *testing.T, raw backend.Backend) {
	ctx := context.Background()
	fillStore(t, raw)
	b, calls := wrap(raw)
	c, reg := newTestCollector(b, Options{})
	if err := c.Refresh(ctx); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if calls.calls.Load() == 0 {
		t.Fatal("Refresh made no counted call: the wrapper does not see the store reads")
	}
	before := calls.calls.Load()

	// More jobs arrive; scrapes serve the snapshot and read nothing.
	if _, err := raw.Enqueue(ctx, []*backend.Job{job("default"), job("default")}); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		scrape(t, c)
	}
	if got := find(t, reg, "joblot_queue_jobs", "queue", "default", "set", "queued").value; got != 3 {
		t.Errorf("queued between refreshes = %v, want the snapshot's 3", got)
	}
	if n := calls.calls.Load(); n != before {
		t.Fatalf("scrapes made %d store calls", n-before)
	}

	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := find(t, reg, "joblot_queue_jobs", "queue", "default", "set", "queued").value; got != 5 {
		t.Errorf("queued after the next refresh = %v, want 5", got)
	}
}

func testRunRefreshes(t *testing.T, raw backend.Backend) {
	b, calls := wrap(raw)
	var familyCalls atomic.Int64
	c, reg := newTestCollector(b, Options{
		RefreshInterval: 5 * time.Millisecond,
		FamilyInterval:  time.Hour,
		Families: func(ctx context.Context) (map[string]int64, error) {
			familyCalls.Add(1)
			return map[string]int64{"queues": 1234, "sidekiq_batch_failinfo": 99}, nil
		},
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()

	// Run refreshes at once and then on its interval.
	waitFor(t, func() bool { return calls.calls.Load() >= 6 })
	if _, err := raw.Enqueue(context.Background(), []*backend.Job{job("fresh")}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		s, ok := lookup(t, reg, "joblot_queue_jobs", "queue", "fresh", "set", "queued")
		return ok && s.value == 1
	})
	for range 3 {
		scrape(t, c)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run returned %v", err)
		}
	case <-time.After(waitTimeout):
		t.Fatal("Run did not return after cancel")
	}

	// Families were measured once (at start), not on every refresh or
	// scrape.
	if n := familyCalls.Load(); n != 1 {
		t.Errorf("Families called %d times, want 1", n)
	}
	if got := find(t, reg, "joblot_store_family_bytes", "family", "queues").value; got != 1234 {
		t.Errorf("family bytes = %v, want 1234", got)
	}
}

func testBatchWindow(t *testing.T, b backend.Backend) {
	ctx := context.Background()
	now := time.Now()
	// The oldest batch stays uncommitted; the two newer ones run.
	for i, age := range []time.Duration{3 * time.Minute, 2 * time.Minute, time.Minute} {
		id := backend.NewJobID()
		spec := &backend.BatchSpec{ID: id, CreatedAt: now.Add(-age), CommitDeadline: now.Add(time.Hour)}
		if err := b.CreateBatch(ctx, spec); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			continue
		}
		if err := b.AddToBatch(ctx, &backend.BatchAdd{BatchID: id, Jobs: []*backend.Job{job("batchq")}}); err != nil {
			t.Fatal(err)
		}
		if err := b.CommitBatch(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	c, reg := newTestCollector(b, Options{BatchWindow: 2})
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := find(t, reg, "joblot_batches", "state", "running").value; got != 2 {
		t.Errorf("running batches in a window of 2 = %v, want 2", got)
	}
	if got := find(t, reg, "joblot_batches", "state", "populating").value; got != 0 {
		t.Errorf("populating batches in a window of 2 = %v, want 0 (the oldest is outside)", got)
	}
	if body := scrape(t, c); !strings.Contains(body, "among the newest 2 batches") {
		t.Errorf("joblot_batches help does not state the window:\n%s", body)
	}
}

func TestFamilyErrorsAreCountedAndKeepLastValues(t *testing.T) {
	fail := false
	c, reg := newTestCollector(nil, Options{Families: func(context.Context) (map[string]int64, error) {
		if fail {
			return nil, errors.New("scan interrupted")
		}
		return map[string]int64{"dead": 10}, nil
	}})
	if err := c.RefreshFamilies(context.Background()); err != nil {
		t.Fatal(err)
	}
	fail = true
	if err := c.RefreshFamilies(context.Background()); err == nil {
		t.Fatal("RefreshFamilies hid the error")
	}
	if got := find(t, reg, "joblot_store_family_bytes", "family", "dead").value; got != 10 {
		t.Errorf("family bytes after a failure = %v, want the last value 10", got)
	}
	if got := find(t, reg, "joblot_metrics_refresh_errors_total").value; got != 1 {
		t.Errorf("refresh errors = %v, want 1", got)
	}
}

// waitTimeout bounds every wait of the package's tests: generous, so that
// a busy machine makes a test slower, never red.
const waitTimeout = time.Minute

// waitFor polls cond until it holds, failing the test after waitTimeout.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not reached within %v", waitTimeout)
		}
		time.Sleep(2 * time.Millisecond) // paces the poll only
	}
}
