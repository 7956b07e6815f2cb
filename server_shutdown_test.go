package joblot

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// deafArgs is a job that ignores its context: it runs until the test
// releases it.
type deafArgs struct {
	N int `json:"n"`
}

func (deafArgs) Kind() string { return "deaf" }

// deafJobs runs deafArgs jobs: each reports its start on started and
// blocks until its gate is released. Every gate is released when the test
// ends, so no goroutine outlives it.
type deafJobs struct {
	started chan int
	mu      sync.Mutex
	gates   map[int]chan struct{}
}

func newDeafJobs(t *testing.T) *deafJobs {
	d := &deafJobs{started: make(chan int, 100), gates: map[int]chan struct{}{}}
	t.Cleanup(func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		for n, g := range d.gates {
			close(g)
			delete(d.gates, n)
		}
	})
	return d
}

func (d *deafJobs) gate(n int) chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	g, ok := d.gates[n]
	if !ok {
		g = make(chan struct{})
		d.gates[n] = g
	}
	return g
}

// release lets job n return.
func (d *deafJobs) release(n int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if g, ok := d.gates[n]; ok {
		close(g)
		delete(d.gates, n)
	}
}

func (d *deafJobs) work(_ context.Context, j *Job[deafArgs]) error {
	g := d.gate(j.Args.N)
	d.started <- j.Args.N
	<-g // the context is ignored on purpose
	return nil
}

// logBuffer is a log destination safe for concurrent writers.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// lingerCounts records what a LingerObserver is told.
type lingerCounts struct {
	mu  sync.Mutex
	max int
	got []int
}

func (*lingerCounts) JobDone(string, string, backend.Outcome, time.Duration) {}

func (l *lingerCounts) JobsLingering(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.got = append(l.got, n)
	l.max = max(l.max, n)
}

func (l *lingerCounts) last() (last, peak int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.got) > 0 {
		last = l.got[len(l.got)-1]
	}
	return last, l.max
}

func newTestServer(t *testing.T, b backend.Backend, cfg ServerConfig, setup ...func(*Server)) *Server {
	t.Helper()
	s, err := NewServer(b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range setup {
		f(s)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// stopWithin stops s with a deadline of d and waits for Stop to return:
// the generous limit only catches a Stop that never returns.
func stopWithin(t *testing.T, s *Server, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- s.Stop(ctx) }()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatalf("Stop: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Stop did not return after its deadline while a job ignored its context")
	}
}

// TestStopReturnsWhenJobIgnoresContext: at the shutdown deadline Stop
// returns even though a job ignores its cancelled context; the job is back
// at the head of its queue untouched (no recovery counted, no attempt) and
// is named in the log; its goroutine is counted as lingering until it
// returns.
func TestStopReturnsWhenJobIgnoresContext(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		ctx := context.Background()
		deaf := newDeafJobs(t)
		ws := NewWorkers()
		AddWorker(ws, WorkFunc[deafArgs](deaf.work), nil)
		client := NewClient(b, ClientConfig{})
		idRes, err := client.Enqueue(ctx, deafArgs{N: 1}, nil)
		id := idRes.ID
		if err != nil {
			t.Fatal(err)
		}
		logs := &logBuffer{}
		cfg := fastConfig(ws)
		cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
		obs := &lingerCounts{}
		cfg.Observer = obs
		s := newTestServer(t, b, cfg)
		waitRecv(t, "the deaf job to start", deaf.started)

		stopWithin(t, s, 50*time.Millisecond)

		queued := listAll(t, b, backend.JobFilter{Set: backend.SetQueued})
		if len(queued) != 1 || queued[0].ID != id {
			t.Fatalf("after Stop, queue = %+v; want the abandoned job back", queued)
		}
		if j := queued[0]; j.Recoveries != 0 || j.Attempt != 0 {
			t.Errorf("requeued job has recoveries %d, attempt %d; want 0 and 0", j.Recoveries, j.Attempt)
		}
		st, err := b.Stats(ctx, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if q, _ := st.Queue(DefaultQueue); q.InFlight != 0 {
			t.Errorf("%d jobs in flight after Stop, want 0", q.InFlight)
		}
		if n := len(listAll(t, b, backend.JobFilter{Set: backend.SetRetry})); n != 0 {
			t.Errorf("%d jobs in the retry set, want 0", n)
		}
		if out := logs.String(); !strings.Contains(out, "job="+id) || !strings.Contains(out, "kind=deaf") {
			t.Errorf("the abandoned job is not named in the log:\n%s", out)
		}
		if n := s.Lingering(); n != 1 {
			t.Errorf("Lingering() = %d while the job still runs, want 1", n)
		}
		if last, _ := obs.last(); last != 1 {
			t.Errorf("observer told %d lingering, want 1", last)
		}

		deaf.release(1)
		waitFor(t, "the abandoned goroutine to return", func() bool { return s.Lingering() == 0 })
		if last, _ := obs.last(); last != 0 {
			t.Errorf("observer told %d lingering after the job returned, want 0", last)
		}
		// Its late return records nothing: the job is still queued, once.
		if queued := listAll(t, b, backend.JobFilter{Set: backend.SetQueued}); len(queued) != 1 {
			t.Errorf("queue holds %d jobs after the late return, want 1", len(queued))
		}
	})
}

// TestTimedOutJobIgnoringContextFreesItsSlot: a job still running past its
// timeout, ignoring its context, is recorded as a timeout failure (retried
// per policy) and its worker slot runs another job while it lingers.
func TestTimedOutJobIgnoringContextFreesItsSlot(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		ctx := context.Background()
		deaf := newDeafJobs(t)
		ran := make(chan string, 1)
		ws := NewWorkers()
		AddWorker(ws, WorkFunc[deafArgs](deaf.work), &WorkerOpts{
			Timeout:     10 * time.Millisecond,
			MaxRetries:  3,
			RetryPolicy: ConstantBackoff(time.Hour), // stays in the retry set
		})
		AddWorker(ws, WorkFunc[greetArgs](func(ctx context.Context, j *Job[greetArgs]) error {
			ran <- j.ID
			return nil
		}), nil)
		cfg := fastConfig(ws)
		cfg.Concurrency = 1 // one slot: the second job runs only if the first one's is freed
		cfg.Prefetch = 1
		obs := &lingerCounts{}
		cfg.Observer = obs
		s := newTestServer(t, b, cfg)
		t.Cleanup(func() { stopWithin(t, s, 10*time.Second) })
		client := NewClient(b, ClientConfig{})
		deafIDRes, err := client.Enqueue(ctx, deafArgs{N: 1}, nil)
		deafID := deafIDRes.ID
		if err != nil {
			t.Fatal(err)
		}
		waitRecv(t, "the deaf job to start", deaf.started)
		greetIDRes, err := client.Enqueue(ctx, greetArgs{Name: "next"}, nil)
		greetID := greetIDRes.ID
		if err != nil {
			t.Fatal(err)
		}
		if got := waitRecv(t, "the next job to run", ran); got != greetID {
			t.Fatalf("ran %s, want %s", got, greetID)
		}
		if n := s.Lingering(); n != 1 {
			t.Errorf("Lingering() = %d while the timed-out job still runs, want 1", n)
		}
		waitFor(t, "the timed-out attempt in the retry set", func() bool {
			return len(listAll(t, b, backend.JobFilter{Set: backend.SetRetry})) == 1
		})
		j := listAll(t, b, backend.JobFilter{Set: backend.SetRetry})[0]
		if j.ID != deafID || j.Attempt != 1 || !strings.Contains(j.ErrorMessage, ErrJobTimeout.Error()) {
			t.Errorf("retry set holds %s attempt %d error %q; want %s attempt 1 with a timeout error", j.ID, j.Attempt, j.ErrorMessage, deafID)
		}
		deaf.release(1)
		waitFor(t, "the lingering goroutine to return", func() bool { return s.Lingering() == 0 })
		if _, peak := obs.last(); peak != 1 {
			t.Errorf("observer saw at most %d lingering, want 1", peak)
		}
		// Its late return records nothing more.
		if n := len(listAll(t, b, backend.JobFilter{Set: backend.SetRetry})); n != 1 {
			t.Errorf("retry set holds %d jobs after the late return, want 1", n)
		}
	})
}

// TestMaxLingering: once MaxLingering goroutines linger, the fetchers stop
// and a further timed-out attempt keeps its slot, unrecorded, until a
// lingering goroutine returns; the count never exceeds the cap.
func TestMaxLingering(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		ctx := context.Background()
		deaf := newDeafJobs(t)
		ran := make(chan string, 1)
		ws := NewWorkers()
		AddWorker(ws, WorkFunc[deafArgs](deaf.work), &WorkerOpts{
			Timeout:     10 * time.Millisecond,
			MaxRetries:  3,
			RetryPolicy: ConstantBackoff(time.Hour),
		})
		AddWorker(ws, WorkFunc[greetArgs](func(ctx context.Context, j *Job[greetArgs]) error {
			ran <- j.ID
			return nil
		}), nil)
		cfg := fastConfig(ws)
		cfg.Concurrency = 2
		cfg.Prefetch = 1
		cfg.MaxLingering = 1
		cfg.IdleWaitTimeout = 20 * time.Millisecond // the idle leader comes round to the gate soon
		obs := &lingerCounts{}
		cfg.Observer = obs
		s := newTestServer(t, b, cfg, func(s *Server) {
			s.executor.testSignals.lingerFull.Init(t)
			s.fetcher.testSignals.gated.Init(t)
		})
		t.Cleanup(func() { stopWithin(t, s, 10*time.Second) })
		client := NewClient(b, ClientConfig{})
		for n := range 2 {
			if _, err := client.Enqueue(ctx, deafArgs{N: n}, nil); err != nil {
				t.Fatal(err)
			}
		}
		waitRecv(t, "the first deaf job to start", deaf.started)
		waitRecv(t, "the second deaf job to start", deaf.started)
		retried := func() []*backend.Job { return listAll(t, b, backend.JobFilter{Set: backend.SetRetry}) }
		waitFor(t, "a timed-out attempt recorded", func() bool { return len(retried()) >= 1 })
		s.executor.testSignals.lingerFull.WaitOrTimeout() // the other waits for a lingering place
		for leader := false; !leader; {
			leader = s.fetcher.testSignals.gated.WaitOrTimeout() // until the leading fetcher stops
		}
		if n := s.Lingering(); n != 1 {
			t.Errorf("Lingering() = %d, want the cap, 1", n)
		}
		if n := len(retried()); n != 1 {
			t.Errorf("%d timed-out attempts recorded while at the cap, want 1", n)
		}
		st, err := b.Stats(ctx, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if q, _ := st.Queue(DefaultQueue); q.InFlight != 1 {
			t.Errorf("%d jobs in flight at the cap, want 1 (the attempt waiting to be abandoned)", q.InFlight)
		}
		greetIDRes, err := client.Enqueue(ctx, greetArgs{Name: "after"}, nil)
		greetID := greetIDRes.ID
		if err != nil {
			t.Fatal(err)
		}

		// The lingering one returns: the waiting attempt takes its place.
		var first deafArgs
		if err := json.Unmarshal(retried()[0].Args, &first); err != nil {
			t.Fatal(err)
		}
		deaf.release(first.N)
		waitFor(t, "the second timed-out attempt recorded", func() bool { return len(retried()) == 2 })
		if n := s.Lingering(); n != 1 {
			t.Errorf("Lingering() = %d, want 1 (the second)", n)
		}
		deaf.release(1 - first.N)
		waitFor(t, "no lingering goroutine", func() bool { return s.Lingering() == 0 })
		if got := waitRecv(t, "the next job to run", ran); got != greetID {
			t.Fatalf("ran %s, want %s", got, greetID)
		}
		if _, peak := obs.last(); peak != 1 {
			t.Errorf("observer saw up to %d lingering, over the cap of 1", peak)
		}
	})
}

// TestLogSafe: payload-derived strings reach logs escaped and bounded.
func TestLogSafe(t *testing.T) {
	if got := logSafe("a\nb\x1b[31m\u00e9"); got != `a\nb\x1b[31m\u00e9` {
		t.Errorf("logSafe escaped to %q", got)
	}
	if got := logSafe(strings.Repeat("k", 10_000)); len(got) > maxLogField+8 {
		t.Errorf("logSafe kept %d bytes of 10000", len(got))
	}
}
