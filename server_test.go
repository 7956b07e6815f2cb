package joblot

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/clock"
)

type greetArgs struct {
	Name string `json:"name"`
	N    int    `json:"n"`
}

func (greetArgs) Kind() string { return "greet" }

type failArgs struct {
	Mode string `json:"mode"` // "error", "kill", "discard", "panic", "timeout", "once"
}

func (failArgs) Kind() string { return "fail" }

func TestEnqueueAndRun(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		ctx := context.Background()
		got := &recorder[*Job[greetArgs]]{}
		ws := NewWorkers()
		AddWorker(ws, WorkFunc[greetArgs](func(ctx context.Context, j *Job[greetArgs]) error {
			got.add(j)
			return nil
		}), nil)
		client := NewClient(b, ClientConfig{EnqueueChunk: 7})
		idRes, err := client.Enqueue(ctx, greetArgs{Name: "ada"}, &EnqueueOpts{Queue: "mail"})
		id := idRes.ID
		if err != nil {
			t.Fatal(err)
		}
		params := make([]EnqueueParams, 50)
		for i := range params {
			params[i] = EnqueueParams{Args: greetArgs{N: i}}
		}
		ids, err := client.EnqueueMany(ctx, params)
		if err != nil || len(ids) != 50 {
			t.Fatalf("EnqueueMany: %d ids, %v", len(ids), err)
		}
		cfg := fastConfig(ws)
		cfg.Queues = map[string]int{"default": 1, "mail": 1}
		startServer(t, b, cfg)
		waitFor(t, "51 jobs", func() bool { return got.len() == 51 })

		seen := map[int]bool{}
		for _, j := range got.all() {
			if j.ID == id {
				if j.Args.Name != "ada" || j.Queue != "mail" || j.Attempt != 1 {
					t.Errorf("job %s: %+v", id, j)
				}
				continue
			}
			if seen[j.Args.N] {
				t.Errorf("job %d ran twice", j.Args.N)
			}
			seen[j.Args.N] = true
		}
		waitFor(t, "processed counter", func() bool {
			st, err := client.Stats(ctx)
			return err == nil && st.Processed == 51
		})
	})
}

func TestPayloadTooLargeStoresNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		ctx := context.Background()
		client := NewClient(b, ClientConfig{MaxPayloadBytes: 1000})
		_, err := client.Enqueue(ctx, greetArgs{Name: strings.Repeat("x", 2000)}, nil)
		if !errors.Is(err, ErrPayloadTooLarge) {
			t.Fatalf("err = %v, want ErrPayloadTooLarge", err)
		}
		_, err = client.EnqueueMany(ctx, []EnqueueParams{{Args: greetArgs{Name: "ok"}}, {Args: greetArgs{Name: strings.Repeat("x", 2000)}}})
		if !errors.Is(err, ErrPayloadTooLarge) {
			t.Fatalf("EnqueueMany err = %v, want ErrPayloadTooLarge", err)
		}
		if jobs := listAll(t, b, backend.JobFilter{Set: backend.SetQueued}); len(jobs) != 0 {
			t.Fatalf("%d jobs stored after refused enqueue", len(jobs))
		}
	})
}

// A scheduled job runs once the duties' clock reaches its time, and not
// before. The server runs on a test clock, so neither half depends on how
// long a step takes.
func TestScheduledJobRunsWhenDue(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		ctx := context.Background()
		ran := make(chan string, 1)
		ws := NewWorkers()
		AddWorker(ws, WorkFunc[greetArgs](func(ctx context.Context, j *Job[greetArgs]) error {
			ran <- j.ID
			return nil
		}), nil)
		client := NewClient(b, ClientConfig{})
		at := time.Now().Add(time.Hour)
		idRes, err := client.Enqueue(ctx, greetArgs{}, &EnqueueOpts{RunAt: at})
		id := idRes.ID
		if err != nil {
			t.Fatal(err)
		}
		if jobs := listAll(t, b, backend.JobFilter{Set: backend.SetScheduled}); len(jobs) != 1 {
			t.Fatalf("scheduled set has %d jobs, want 1", len(jobs))
		}
		clk := clock.NewFake(time.Now()) // the server's clock
		cfg := fastConfig(ws)
		cfg.Now = clk.Now
		// The backend keeps the wall clock: a lease longer than the jump
		// keeps the server's own process alive on the moved clock.
		cfg.ProcessTTL = 24 * time.Hour
		s := startServer(t, b, cfg, func(s *Server) { s.duties.testSignals.ran.Init(t) })
		// Two rounds of duties (moving due jobs) ran before RunAt: the job
		// is still scheduled.
		for range 2 {
			s.duties.testSignals.ran.WaitOrTimeout()
		}
		select {
		case got := <-ran:
			t.Fatalf("job %s ran before its time", got)
		default:
		}
		if jobs := listAll(t, b, backend.JobFilter{Set: backend.SetScheduled}); len(jobs) != 1 {
			t.Fatalf("scheduled set has %d jobs before RunAt, want 1", len(jobs))
		}
		clk.Set(at.Add(time.Second))
		if got := waitRecv(t, "the scheduled job to run", ran); got != id {
			t.Fatalf("ran job %s, want %s", got, id)
		}
	})
}

func TestOutcomes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		ctx := context.Background()
		var onceFailed atomic.Bool
		ws := NewWorkers()
		AddWorker(ws, WorkFunc[failArgs](func(ctx context.Context, j *Job[failArgs]) error {
			switch j.Args.Mode {
			case "kill":
				return JobKill(errors.New("permanent"))
			case "discard":
				return JobDiscard(errors.New("pointless"))
			case "panic":
				panic("boom")
			case "timeout":
				<-ctx.Done()
				return ctx.Err()
			case "once":
				if onceFailed.CompareAndSwap(false, true) {
					return errors.New("flaky")
				}
				return nil
			}
			return errors.New("always fails")
		}), &WorkerOpts{Timeout: time.Hour}) // only the "timeout" job times out, on its own 50 ms
		client := NewClient(b, ClientConfig{})
		enqueue := func(mode string, opts *EnqueueOpts) string {
			idRes, err := client.Enqueue(ctx, failArgs{Mode: mode}, opts)
			id := idRes.ID
			if err != nil {
				t.Fatal(err)
			}
			return id
		}
		killed := enqueue("kill", nil)
		discarded := enqueue("discard", nil)
		panicked := enqueue("panic", &EnqueueOpts{MaxRetries: NoRetries})
		timedOut := enqueue("timeout", &EnqueueOpts{MaxRetries: NoRetries, Timeout: 50 * time.Millisecond})
		exhausted := enqueue("error", &EnqueueOpts{MaxRetries: 2})
		flaky := enqueue("once", &EnqueueOpts{MaxRetries: 3})

		cfg := fastConfig(ws)
		cfg.Backtraces = true
		succeeded := &recorder[string]{}
		cfg.Middleware = []Middleware{func(ctx context.Context, j *JobMeta, next func(context.Context) error) error {
			err := next(ctx)
			if err == nil {
				succeeded.add(j.ID)
			}
			return err
		}}
		startServer(t, b, cfg)

		deadJob := func(id string) *backend.Job {
			for _, j := range listAll(t, b, backend.JobFilter{Set: backend.SetDead}) {
				if j.ID == id {
					return j
				}
			}
			return nil
		}
		waitFor(t, "four dead jobs", func() bool {
			return deadJob(killed) != nil && deadJob(panicked) != nil && deadJob(timedOut) != nil && deadJob(exhausted) != nil
		})
		if j := deadJob(killed); j.Attempt != 1 || j.ErrorMessage != "permanent" {
			t.Errorf("killed job: attempt %d, message %q", j.Attempt, j.ErrorMessage)
		}
		if j := deadJob(panicked); j.ErrorClass != "panic" || !strings.Contains(j.ErrorMessage, "boom") || len(j.Backtrace) == 0 {
			t.Errorf("panicked job: class %q message %q backtrace %d bytes", j.ErrorClass, j.ErrorMessage, len(j.Backtrace))
		}
		if j := deadJob(timedOut); !strings.Contains(j.ErrorMessage, ErrJobTimeout.Error()) {
			t.Errorf("timed-out job message %q", j.ErrorMessage)
		}
		if j := deadJob(exhausted); j.Attempt != 3 || j.ErrorFingerprint == "" {
			t.Errorf("exhausted job: attempt %d (want 3: first try + 2 retries), fingerprint %q", j.Attempt, j.ErrorFingerprint)
		}
		waitFor(t, "flaky job to succeed on retry", func() bool {
			for _, id := range succeeded.all() {
				if id == flaky {
					return true
				}
			}
			return false
		})
		if deadJob(discarded) != nil {
			t.Error("discarded job is in the dead set")
		}
		waitFor(t, "discard counted", func() bool {
			st, err := client.Stats(ctx)
			return err == nil && st.Discarded == 1
		})
	})
}

func TestUnknownKindIsRetriedWithReason(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		ctx := context.Background()
		client := NewClient(b, ClientConfig{})
		if _, err := client.Enqueue(ctx, greetArgs{}, nil); err != nil {
			t.Fatal(err)
		}
		cfg := fastConfig(NewWorkers()) // no worker for "greet"
		cfg.RetryPolicy = RetryPolicyFunc(func(int) time.Duration { return time.Hour })
		startServer(t, b, cfg)
		waitFor(t, "job in retry set", func() bool {
			return len(listAll(t, b, backend.JobFilter{Set: backend.SetRetry})) == 1
		})
		j := listAll(t, b, backend.JobFilter{Set: backend.SetRetry})[0]
		if !strings.Contains(j.ErrorMessage, "unknown job kind") || !strings.Contains(j.ErrorMessage, "greet") || j.Attempt != 1 {
			t.Fatalf("retry entry: attempt %d, message %q", j.Attempt, j.ErrorMessage)
		}
	})
}

func TestUndecodableArgsGoDead(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		ctx := context.Background()
		ws := NewWorkers()
		AddWorker(ws, WorkFunc[greetArgs](func(context.Context, *Job[greetArgs]) error { return nil }), nil)
		bad := &backend.Job{ID: backend.NewJobID(), Kind: "greet", Queue: DefaultQueue, Args: []byte(`{"name": 42}`), CreatedAt: time.Now()}
		if _, err := b.Enqueue(ctx, []*backend.Job{bad}); err != nil {
			t.Fatal(err)
		}
		startServer(t, b, fastConfig(ws))
		waitFor(t, "dead job", func() bool { return len(listAll(t, b, backend.JobFilter{Set: backend.SetDead})) == 1 })
		j := listAll(t, b, backend.JobFilter{Set: backend.SetDead})[0]
		if j.ID != bad.ID || !strings.Contains(j.ErrorMessage, "undecodable") {
			t.Fatalf("dead job %s: %q", j.ID, j.ErrorMessage)
		}
	})
}

func TestConcurrencyLimit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		ctx := context.Background()
		var running, peak atomic.Int64
		var done atomic.Int64
		// The first jobs hold their slots until four run at once: a fifth
		// started meanwhile would show in peak, whatever the timing.
		full := make(chan struct{})
		var fullOnce sync.Once
		ws := NewWorkers()
		AddWorker(ws, WorkFunc[greetArgs](func(ctx context.Context, _ *Job[greetArgs]) error {
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			if n >= 4 {
				fullOnce.Do(func() { close(full) })
			}
			select {
			case <-full:
			case <-ctx.Done():
			}
			running.Add(-1)
			done.Add(1)
			return nil
		}), nil)
		client := NewClient(b, ClientConfig{})
		params := make([]EnqueueParams, 200)
		for i := range params {
			params[i] = EnqueueParams{Args: greetArgs{N: i}}
		}
		if _, err := client.EnqueueMany(ctx, params); err != nil {
			t.Fatal(err)
		}
		cfg := fastConfig(ws)
		cfg.Concurrency = 4
		s := startServer(t, b, cfg)
		maxHeld := int64(0)
		waitFor(t, "200 jobs", func() bool {
			if h := s.inFlight.Load(); h > maxHeld {
				maxHeld = h
			}
			return done.Load() == 200
		})
		if peak.Load() > 4 {
			t.Fatalf("%d jobs ran at once, limit 4", peak.Load())
		}
		if limit := int64(s.cfg.Concurrency + s.cfg.Prefetch); maxHeld > limit {
			t.Fatalf("process held %d jobs, limit %d (slots + prefetch)", maxHeld, limit)
		}
	})
}

// A graceful stop lets a running job finish, then cancels the one still
// running at the deadline and puts it back untouched. The deadline is a
// cancelled context, given only once the quick job was acked, so no step
// races a timer.
func TestGracefulShutdown(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		ctx := context.Background()
		started := make(chan string, 10)
		release := make(chan struct{})
		ws := NewWorkers()
		AddWorker(ws, WorkFunc[greetArgs](func(ctx context.Context, j *Job[greetArgs]) error {
			started <- j.Args.Name
			if j.Args.Name == "quick" {
				<-release // finishes only once the shutdown has begun
				return nil
			}
			<-ctx.Done() // "stuck" runs until the hard stop
			return ctx.Err()
		}), nil)
		client := NewClient(b, ClientConfig{})
		stuckRes, _ := client.Enqueue(ctx, greetArgs{Name: "stuck"}, nil)
		stuck := stuckRes.ID
		if _, err := client.Enqueue(ctx, greetArgs{Name: "quick"}, nil); err != nil {
			t.Fatal(err)
		}
		cfg := fastConfig(ws)
		s, err := NewServer(b, cfg)
		if err != nil {
			t.Fatal(err)
		}
		s.acker.testSignals.acked.Init(t)
		if err := s.Start(ctx); err != nil {
			t.Fatal(err)
		}
		waitRecv(t, "a job to start", started)
		waitRecv(t, "the other job to start", started)
		stopCtx, hardStop := context.WithCancel(ctx)
		defer hardStop()
		stopped := make(chan error, 1)
		go func() { stopped <- s.Stop(stopCtx) }()
		waitFor(t, "the shutdown to begin", s.draining.Load)
		close(release)
		for succeeded := false; !succeeded; {
			for _, r := range s.acker.testSignals.acked.WaitOrTimeout().results {
				succeeded = succeeded || r.Outcome == backend.OutcomeSucceeded
			}
		}
		hardStop() // the shutdown deadline
		if err := waitRecv(t, "Stop to return", stopped); err != nil {
			t.Fatal(err)
		}
		st, err := client.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.Processed != 1 {
			t.Errorf("processed = %d, want 1 (the quick job finished during shutdown)", st.Processed)
		}
		queued := listAll(t, b, backend.JobFilter{Set: backend.SetQueued})
		if len(queued) != 1 || queued[0].ID != stuck || queued[0].Attempt != 0 {
			t.Fatalf("after hard stop, queue = %+v; want the stuck job back untouched", queued)
		}
		if n := len(listAll(t, b, backend.JobFilter{Set: backend.SetRetry})); n != 0 {
			t.Fatalf("%d jobs in retry after shutdown", n)
		}
	})
}

func TestQueueOrder(t *testing.T) {
	strict := newQueueOrder(map[string]int{"low": 1, "high": 5, "mid": 3}, true)
	if got := strings.Join(strict.next(), ","); got != "high,mid,low" {
		t.Fatalf("strict order %s", got)
	}
	weighted := newQueueOrder(map[string]int{"a": 3, "b": 1}, false)
	first := map[string]int{}
	for range 4000 {
		order := weighted.next()
		if len(order) != 2 {
			t.Fatalf("order %v", order)
		}
		first[order[0]]++
	}
	// a comes first with probability 3/4: 3000 ± a wide margin.
	if first["a"] < 2700 || first["a"] > 3300 {
		t.Fatalf("a first %d of 4000 times, want about 3000", first["a"])
	}
}

func TestSidekiqBackoff(t *testing.T) {
	for retry, lo := range map[int]int{1: 15, 2: 16, 3: 31, 5: 271} {
		n := retry - 1
		hi := lo + 10*(n+1)
		for range 100 {
			d := SidekiqBackoff{}.NextRetry(retry)
			if d < time.Duration(lo)*time.Second || d >= time.Duration(hi)*time.Second {
				t.Fatalf("retry %d: %v not in [%ds, %ds)", retry, d, lo, hi)
			}
		}
	}
}

func TestErrorFingerprintGroupsVariants(t *testing.T) {
	a := errorFingerprint("k", "errors.errorString", "user 17 not found at 0xdeadbeef01")
	b := errorFingerprint("k", "errors.errorString", "user 42 not found at 0xfeedface02")
	c := errorFingerprint("k", "errors.errorString", "connection refused")
	if a != b || a == c {
		t.Fatalf("fingerprints %s %s %s", a, b, c)
	}
	if got := truncate("héllo wörld", 6); len(got) > 6 || !strings.HasSuffix(got, "…") {
		t.Fatalf("truncate = %q", got)
	}
}

func TestConstantBackoff(t *testing.T) {
	p := ConstantBackoff(3 * time.Second)
	for _, retry := range []int{1, 2, 25} {
		if d := p.NextRetry(retry); d != 3*time.Second {
			t.Errorf("retry %d: %v, want 3s", retry, d)
		}
	}
}

// An idle server on a backend that wakes fetchers (backend.Waiter) picks up
// a job enqueued later at once: with both the poll back-off and the wait
// timeout set to an hour, the job runs only if the enqueue woke it.
func TestIdleServerIsWokenByAnEnqueue(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		if _, ok := b.(backend.Waiter); !ok {
			t.Skip("backend cannot wake fetchers")
		}
		ran := make(chan string, 1)
		ws := NewWorkers()
		AddWorker(ws, WorkFunc[greetArgs](func(ctx context.Context, job *Job[greetArgs]) error {
			ran <- job.Args.Name
			return nil
		}), nil)
		cfg := fastConfig(ws)
		cfg.IdleFetchInterval, cfg.IdleWaitTimeout = time.Hour, time.Hour
		spy := waitSpy{Backend: b, w: b.(backend.Waiter), waiting: make(chan struct{}, 1)}
		startServer(t, spy, cfg)
		waitRecv(t, "the idle server to wait for jobs", spy.waiting) // the leading fetcher found nothing
		if _, err := NewClient(b, ClientConfig{}).Enqueue(context.Background(), greetArgs{Name: "late"}, nil); err != nil {
			t.Fatal(err)
		}
		if name := waitRecv(t, "the job enqueued into an idle server to run (nothing woke the fetcher?)", ran); name != "late" {
			t.Errorf("ran %q", name)
		}
	})
}

// waitSpy is a backend that says when a fetcher starts waiting for jobs.
type waitSpy struct {
	backend.Backend
	w       backend.Waiter
	waiting chan struct{}
}

func (s waitSpy) WaitForJobs(ctx context.Context, queues []string, timeout time.Duration) error {
	select {
	case s.waiting <- struct{}{}:
	default:
	}
	return s.w.WaitForJobs(ctx, queues, timeout)
}
