package joblot

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/clock"
	"github.com/joblot/joblot/internal/redistest"
)

// quietArgs is a job of the quiet tests: N 0 runs at once, any other N
// blocks until the test releases it.
type quietArgs struct {
	N int `json:"n"`
}

func (quietArgs) Kind() string { return "quiet" }

// quietWorkers registers quietArgs: started receives N when a job starts,
// ran when it returns; job N>0 waits on gate.
func quietWorkers(started, ran chan int, gate <-chan struct{}) *Workers {
	ws := NewWorkers()
	AddWorker(ws, WorkFunc[quietArgs](func(ctx context.Context, j *Job[quietArgs]) error {
		started <- j.Args.N
		if j.Args.N != 0 {
			<-gate
		}
		ran <- j.Args.N
		return nil
	}), nil)
	return ws
}

// initBeats makes a server signal its heartbeats.
func initBeats(t *testing.T) func(*Server) {
	return func(s *Server) { s.heartbeater.testSignals.beat.Init(t) }
}

// waitBeats waits for n heartbeats from now on that reached the store (ok)
// or failed (!ok).
func waitBeats(s *Server, n int, ok bool) {
	beat := &s.heartbeater.testSignals.beat
	beat.Drain()
	for n > 0 {
		if err := beat.WaitOrTimeout(); (err == nil) == ok {
			n--
		}
	}
}

// TestQuietFinishesInFlightAndFetchesNothing: after Quiet, the job that
// was running finishes and is acked, a job enqueued afterwards stays in
// its queue, and the process keeps heartbeating and shows as quiet.
func TestQuietFinishesInFlightAndFetchesNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		ctx := context.Background()
		started, ran := make(chan int, 4), make(chan int, 4)
		gate := make(chan struct{})
		s := startServer(t, b, fastConfig(quietWorkers(started, ran, gate)), initBeats(t), func(s *Server) {
			s.acker.testSignals.acked.Init(t)
		})
		c := NewClient(b, ClientConfig{})
		if _, err := c.Enqueue(ctx, quietArgs{N: 1}, nil); err != nil {
			t.Fatal(err)
		}
		if n := waitRecv(t, "the first job to start", started); n != 1 {
			t.Fatalf("started job %d", n)
		}
		s.Quiet() // no fetch claims anything once it returns
		late, err := c.Enqueue(ctx, quietArgs{N: 0}, nil)
		if err != nil {
			t.Fatal(err)
		}
		close(gate)
		if n := waitRecv(t, "the in-flight job to finish", ran); n != 1 {
			t.Fatalf("finished job %d", n)
		}
		if a := s.acker.testSignals.acked.WaitOrTimeout(); len(a.results) != 1 || a.results[0].Outcome != backend.OutcomeSucceeded {
			t.Fatalf("the in-flight job was acked as %+v", a.results)
		}
		// Heartbeats go on: two more beats after the quiet.
		waitBeats(s, 2, true)
		st, err := b.Stats(ctx, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		p := findProcess(st, s.ProcessID())
		if p == nil || !p.Quiet {
			t.Fatalf("Stats process %s = %+v, want it listed as quiet", s.ProcessID(), p)
		}
		if q, _ := st.Queue("default"); q.Size != 1 {
			t.Fatalf("queue default holds %d jobs, want the late one still queued; stats %+v", q.Size, st)
		}
		if j := findQueued(t, b, late.ID); j == nil {
			t.Fatalf("the job enqueued after Quiet is not in its queue")
		}
		select {
		case n := <-started:
			t.Fatalf("job %d started on a quiet server", n)
		default:
		}
		if h := s.Health(ctx); h.State != StateQuiet || h.Ready || !h.Live || h.InFlight != 0 {
			t.Fatalf("Health of a drained quiet server = %+v, want live, quiet, not ready, nothing in flight", h)
		}
	})
}

func findQueued(t *testing.T, b backend.Backend, id string) *backend.Job {
	t.Helper()
	for _, j := range listAll(t, b, backend.JobFilter{Set: backend.SetQueued, Queue: "default"}) {
		if j.ID == id {
			return j
		}
	}
	return nil
}

// TestQuietGivesUpDutiesLease: a quiet server hands the duties lease over
// at once. The lease is taken under the server's name for an hour, and the
// server's own duty ticks (hourly) never renew it: only the give-up frees
// it before then.
func TestQuietGivesUpDutiesLease(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		ctx := context.Background()
		cfg := fastConfig(quietWorkers(make(chan int, 1), make(chan int, 1), nil))
		cfg.PollInterval = time.Hour
		s := startServer(t, b, cfg)
		if res, err := b.Lease(ctx, backend.LeaseParams{Name: dutiesLease, Holder: s.ProcessID(), TTL: time.Hour}); err != nil || !res.Held {
			t.Fatalf("taking the lease for the server: %v %v", res.Held, err)
		}
		if res, _ := b.Lease(ctx, backend.LeaseParams{Name: dutiesLease, Holder: "other", TTL: time.Hour}); res.Held {
			t.Fatalf("another process took a held lease")
		}
		s.Quiet()
		waitFor(t, "another process to take the duties lease", func() bool {
			res, err := b.Lease(ctx, backend.LeaseParams{Name: dutiesLease, Holder: "other", TTL: time.Hour})
			return err == nil && res.Held
		})
	})
}

// TestQuietRequestedThroughTheStore: an operator's QuietProcess, from
// another connection to the store (a second Redis client; the bolt file's
// owner reached through its local endpoint), quiets the server at its
// next heartbeat, and Stats shows it quiet.
func TestQuietRequestedThroughTheStore(t *testing.T) {
	run := func(t *testing.T, b, operator backend.Backend) {
		ctx := context.Background()
		s := startServer(t, b, fastConfig(quietWorkers(make(chan int, 1), make(chan int, 1), nil)), initBeats(t))
		in := NewInspector(operator)
		if err := in.QuietProcess(ctx, "no-such-process"); !errors.Is(err, backend.ErrProcessNotFound) {
			t.Fatalf("QuietProcess of an unknown process: %v, want ErrProcessNotFound", err)
		}
		if s.IsQuiet() {
			t.Fatalf("quiet before any request")
		}
		if err := in.QuietProcess(ctx, s.ProcessID()); err != nil {
			t.Fatalf("QuietProcess: %v", err)
		}
		waitFor(t, "the server to read the request on its heartbeat", s.IsQuiet)
		waitBeats(s, 1, true) // a heartbeat after going quiet
		st, err := in.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if p := findProcess(st, s.ProcessID()); p == nil || !p.Quiet {
			t.Fatalf("Stats process = %+v, want it live and quiet", p)
		}
	}
	withOperatorHandle(t, run)
}

// TestQuietProcessUnsupported: a store that cannot carry the request says
// so instead of pretending.
func TestQuietProcessUnsupported(t *testing.T) {
	b := openBolt(t, backend.Limits{})
	err := NewInspector(hiddenQuieter{b}).QuietProcess(context.Background(), "p")
	if !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("QuietProcess on a backend without Quieter: %v, want ErrUnsupported", err)
	}
}

// hiddenQuieter hides its backend's optional interfaces.
type hiddenQuieter struct{ backend.Backend }

// TestHealthReadiness: a running server is live and ready; quiet, it stays
// live and is not ready; stopped, it is neither.
func TestHealthReadiness(t *testing.T) {
	ctx := context.Background()
	b := openBolt(t, backend.Limits{})
	s, err := NewServer(b, fastConfig(quietWorkers(make(chan int, 1), make(chan int, 1), nil)))
	if err != nil {
		t.Fatal(err)
	}
	if h := s.Health(ctx); h.Live || h.Ready || h.State != StateNew {
		t.Fatalf("Health before Start = %+v", h)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if h := s.Health(ctx); !h.Live || !h.Ready || h.State != StateRunning || !h.StoreOK || len(h.Reasons) != 0 {
		t.Fatalf("Health of a running server = %+v", h)
	}
	s.Quiet()
	if h := s.Health(ctx); !h.Live || h.Ready || h.State != StateQuiet {
		t.Fatalf("Health of a quiet server = %+v, want live and not ready", h)
	}
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if h := s.Health(ctx); h.Live || h.Ready || h.State != StateStopped {
		t.Fatalf("Health of a stopped server = %+v", h)
	}
}

// TestHealthFenced: a process declared dead (its lease taken) is not
// ready until it re-registers, and stays live meanwhile.
func TestHealthFenced(t *testing.T) {
	ctx := context.Background()
	b := openBolt(t, backend.Limits{})
	// Room for every run: the recovered job may run again (and be
	// recovered again, from the fenced identity) while the first blocks.
	started, ran := make(chan int, 100), make(chan int, 100)
	gate := make(chan struct{})
	var released atomic.Bool
	t.Cleanup(func() {
		if !released.Load() {
			close(gate)
		}
	})
	s := startServer(t, b, fastConfig(quietWorkers(started, ran, gate)), func(s *Server) {
		s.heartbeater.testSignals.fenced.Init(t)
		s.heartbeater.testSignals.reRegistered.Init(t)
	})
	if _, err := NewClient(b, ClientConfig{}).Enqueue(ctx, quietArgs{N: 1}, nil); err != nil {
		t.Fatal(err)
	}
	waitRecv(t, "the job to start", started)
	// The process's lease is an hour: two hours on, it is dead. Its
	// running job keeps it from re-registering at once.
	if _, err := b.RecoverOrphans(ctx, time.Now().Add(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	s.heartbeater.testSignals.fenced.WaitOrTimeout()
	if h := s.Health(ctx); !h.Live || h.Ready || h.State != StateFenced {
		t.Fatalf("Health of a fenced server = %+v, want live and not ready", h)
	}
	released.Store(true)
	close(gate)
	s.heartbeater.testSignals.reRegistered.WaitOrTimeout()
	if h := s.Health(ctx); !h.Ready {
		t.Fatalf("Health after the re-registration = %+v, want ready", h)
	}
}

// TestHealthStoreDown: when Redis goes away the server is not ready, and
// stays live beat after failed beat.
func TestHealthStoreDown(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	b, err := redis.Open(ctx, redis.Options{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	s := startServer(t, b, fastConfig(quietWorkers(make(chan int, 1), make(chan int, 1), nil)), initBeats(t))
	if h := s.Health(ctx); !h.Ready {
		t.Fatalf("Health with Redis up = %+v", h)
	}
	srv.Stop()
	waitFor(t, "readiness to flip with Redis down", func() bool { return !s.Health(ctx).Ready })
	for i := range 3 {
		waitBeats(s, 1, false) // another failed heartbeat
		h := s.Health(ctx)
		if !h.Live || h.Ready || h.StoreOK {
			t.Fatalf("Health after %d failed beats with Redis down = %+v, want live, not ready", i+1, h)
		}
	}
}

// stuckBeats is a backend whose Heartbeat, once stuck is set, blocks until
// the test ends, ignoring its context: a wedged heartbeat loop.
type stuckBeats struct {
	backend.Backend
	stuck   *atomic.Bool
	entered chan struct{}
	done    <-chan struct{}
}

func (s stuckBeats) Heartbeat(ctx context.Context, info backend.ProcessInfo, ttl time.Duration) error {
	if s.stuck.Load() {
		select {
		case s.entered <- struct{}{}:
		default:
		}
		<-s.done
		return context.Canceled
	}
	return s.Backend.Heartbeat(ctx, info, ttl)
}

// TestHealthLivenessStuckLoop: a heartbeat loop wedged for longer than
// the liveness limit makes the server not live. The server's clock is
// fake, so "longer" is a step of the clock, not a wait.
func TestHealthLivenessStuckLoop(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFake(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	b := openBolt(t, backend.Limits{})
	done := make(chan struct{})
	var stuck atomic.Bool
	sb := stuckBeats{Backend: b, stuck: &stuck, entered: make(chan struct{}, 1), done: done}
	cfg := fastConfig(quietWorkers(make(chan int, 1), make(chan int, 1), nil))
	cfg.Now = clk.Now
	s, err := NewServer(sb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		close(done)
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = s.Stop(sctx)
	})
	stuck.Store(true)
	waitRecv(t, "the heartbeat loop to wedge", sb.entered)
	clk.Advance(minLivenessStall - time.Second)
	if h := s.Health(ctx); !h.Live {
		t.Fatalf("Health within the liveness limit = %+v, want live", h)
	}
	clk.Advance(2 * time.Second)
	if h := s.Health(ctx); h.Live || h.Ready {
		t.Fatalf("Health of a wedged heartbeat loop = %+v, want not live", h)
	}
}

// TestHealthHandler: /livez and /readyz answer 200 or 503 with the health
// as JSON.
func TestHealthHandler(t *testing.T) {
	b := openBolt(t, backend.Limits{})
	s := startServer(t, b, fastConfig(quietWorkers(make(chan int, 1), make(chan int, 1), nil)))
	srv := httptest.NewServer(s.HealthHandler())
	t.Cleanup(srv.Close)
	get := func(path string) (int, Health) {
		t.Helper()
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var h Health
		if resp.StatusCode != http.StatusNotFound {
			if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
				t.Fatalf("GET %s: body: %v", path, err)
			}
		}
		return resp.StatusCode, h
	}
	if code, h := get("/livez"); code != http.StatusOK || !h.Live {
		t.Fatalf("/livez = %d %+v", code, h)
	}
	if code, h := get("/readyz"); code != http.StatusOK || !h.Ready || h.Process != s.ProcessID() {
		t.Fatalf("/readyz = %d %+v", code, h)
	}
	s.Quiet()
	if code, h := get("/readyz"); code != http.StatusServiceUnavailable || h.State != StateQuiet {
		t.Fatalf("/readyz of a quiet server = %d %+v, want 503 quiet", code, h)
	}
	if code, _ := get("/livez"); code != http.StatusOK {
		t.Fatalf("/livez of a quiet server = %d, want 200", code)
	}
	if code, _ := get("/nothing"); code != http.StatusNotFound {
		t.Fatalf("/nothing = %d, want 404", code)
	}
}
