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
)

// customerArgs count under their customer's group of a LimitByKey limit.
type customerArgs struct {
	Customer string `json:"customer"`
	N        int    `json:"n"`
}

func (customerArgs) Kind() string { return "customer_job" }

func (a customerArgs) LimitKey() string { return a.Customer }

// gauge tracks jobs running at once per group and the most seen.
type gauge struct {
	mu      sync.Mutex
	running map[string]int
	most    map[string]int
	ran     map[int]int
}

func newGauge() *gauge {
	return &gauge{running: map[string]int{}, most: map[string]int{}, ran: map[int]int{}}
}

func (g *gauge) enter(group string, n int) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.running[group]++
	g.most[group] = max(g.most[group], g.running[group])
	g.ran[n]++
	return g.running[group]
}

func (g *gauge) leave(group string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.running[group]--
}

// TestQueueLimitsAcrossServers runs three servers on one store (bolt is
// one process, so they share it in-process), 24 workers in all, against a
// limit of 5 per customer: one customer's jobs never run more than 5 at
// once and do reach 5 (the first jobs wait until 5 run together, which 24
// workers would exceed without the limit), another customer's jobs run
// beside them, and every job runs.
func TestQueueLimitsAcrossServers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		const limit, acme, other = 5, 60, 10
		g := newGauge()
		gate := make(chan struct{})
		var done atomic.Int64
		ws := NewWorkers()
		AddWorker(ws, WorkFunc[customerArgs](func(ctx context.Context, j *Job[customerArgs]) error {
			defer done.Add(1)
			group := j.Args.Customer
			if j.Args.N >= acme {
				group = "globex" // its EnqueueOpts.LimitKey
			}
			g.enter(group, j.Args.N)
			defer g.leave(group)
			if group != "acme" {
				return nil
			}
			select {
			case <-gate:
			case <-ctx.Done():
				return ctx.Err()
			}
			return nil
		}), nil)
		client := NewClient(b, ClientConfig{})
		var params []EnqueueParams
		for i := range acme {
			params = append(params, EnqueueParams{Args: customerArgs{Customer: "acme", N: i}, Opts: EnqueueOpts{Queue: "limited"}})
		}
		for i := range other {
			// The option wins over the args' key.
			params = append(params, EnqueueParams{Args: customerArgs{Customer: "acme", N: acme + i}, Opts: EnqueueOpts{Queue: "limited", LimitKey: "globex"}})
		}
		if _, err := client.EnqueueMany(t.Context(), params); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			cfg := fastConfig(ws)
			cfg.Queues = map[string]int{"limited": 1}
			cfg.QueueLimits = map[string]QueueLimits{"limited": {Concurrency: limit, By: LimitByKey}}
			startServer(t, b, cfg)
		}
		// The acme jobs that started wait until every other acme job waits
		// aside in the store: then no more can start. Without the limit,
		// more than 5 start (24 workers).
		waitFor(t, "5 acme jobs running and the others waiting", func() bool {
			g.mu.Lock()
			running := g.running["acme"]
			g.mu.Unlock()
			if running > limit {
				return true
			}
			st, err := client.Stats(t.Context())
			if err != nil {
				return false
			}
			q, _ := st.Queue("limited")
			return running == limit && q.Limit != nil && len(q.Limit.Groups) > 0 && q.Limit.Groups[0] == backend.LimitGroupStats{Group: "acme", Running: limit, Waiting: acme - limit}
		})
		g.mu.Lock()
		if running := g.running["acme"]; running != limit {
			g.mu.Unlock()
			close(gate)
			t.Fatalf("acme jobs running at once: %d, want %d", running, limit)
		}
		g.mu.Unlock()
		close(gate)
		waitFor(t, "every job ran", func() bool { return done.Load() == acme+other })
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.most["acme"] != limit {
			t.Fatalf("most acme jobs running at once: %d, want exactly %d", g.most["acme"], limit)
		}
		if g.most["globex"] == 0 || g.most["globex"] > limit {
			t.Fatalf("most globex jobs (key from EnqueueOpts) running at once: %d, want 1..%d (all acme: %v)", g.most["globex"], limit, g.most)
		}
		for i := range acme + other {
			if g.ran[i] != 1 {
				t.Fatalf("job %d ran %d times, want 1", i, g.ran[i])
			}
		}
		waitFor(t, "no slot held", func() bool {
			st, err := client.Stats(t.Context())
			if err != nil {
				return false
			}
			q, _ := st.Queue("limited")
			return q.Limit != nil && len(q.Limit.Groups) == 0 && q.InFlight == 0
		})
	})
}

func TestLimitKeyRefused(t *testing.T) {
	b := openBolt(t, backend.Limits{})
	client := NewClient(b, ClientConfig{})
	for _, key := range []string{strings.Repeat("k", MaxLimitKeyBytes+1), "\xff"} {
		_, err := client.Enqueue(t.Context(), customerArgs{Customer: key}, nil)
		if !errors.Is(err, ErrBadLimit) {
			t.Fatalf("enqueue with limit key of %d bytes: %v, want ErrBadLimit", len(key), err)
		}
	}
	st, err := client.Stats(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Queues) != 0 {
		t.Fatalf("a refused job was stored: %+v", st.Queues)
	}
	if _, err := NewServer(b, ServerConfig{Workers: NewWorkers(), QueueLimits: map[string]QueueLimits{"q": {Rate: 1}}}); !errors.Is(err, ErrBadLimit) {
		t.Fatalf("NewServer with a rate and no interval: %v, want ErrBadLimit", err)
	}
}

// TestQueueLimitsLatestServerWins: each server writes its QueueLimits at
// Start; the latest wins, a queue it does not list keeps its limit, and a
// zero QueueLimits removes one.
func TestQueueLimitsLatestServerWins(t *testing.T) {
	b := openBolt(t, backend.Limits{})
	limitOf := func(queue string) *backend.LimitStats {
		t.Helper()
		st, err := b.Stats(t.Context(), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		q, _ := st.Queue(queue)
		return q.Limit
	}
	start := func(limits map[string]QueueLimits) {
		cfg := fastConfig(NewWorkers())
		cfg.QueueLimits = limits
		startServer(t, b, cfg)
	}
	start(map[string]QueueLimits{"a": {Concurrency: 5}, "b": {Rate: 10, Per: time.Second}})
	start(map[string]QueueLimits{"a": {Concurrency: 2, By: LimitByKind}})
	if l := limitOf("a"); l == nil || l.Limit != (QueueLimits{Concurrency: 2, By: LimitByKind}) {
		t.Fatalf("queue a after the second server: %+v, want its limit", l)
	}
	if l := limitOf("b"); l == nil || l.Limit != (QueueLimits{Rate: 10, Per: time.Second}) {
		t.Fatalf("queue b, which the second server does not list: %+v, want the first server's limit", l)
	}
	start(map[string]QueueLimits{"b": {}})
	if l := limitOf("b"); l != nil {
		t.Fatalf("queue b after a zero QueueLimits: %+v, want none", l)
	}
}
