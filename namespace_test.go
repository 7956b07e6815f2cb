package joblot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/rediskeys"
	"github.com/joblot/joblot/internal/redistest"
)

// nsArgs is a job of one namespace; NS names the namespace that enqueued
// it, so a worker can tell a job of another namespace.
type nsArgs struct {
	NS   string `json:"ns"`
	N    int    `json:"n"`
	Fail bool   `json:"fail"`
}

func (nsArgs) Kind() string { return "ns_job" }

// namespace is one application of TestNamespacesShareOneRedis.
type namespace struct {
	name   string
	b      *redis.Backend
	client *Client
	mu     sync.Mutex
	seen   []nsArgs // jobs its server ran
	jobs   int      // plain jobs enqueued
	dead   int      // of which fail for good
	batch  int      // jobs of its batch
	srv    *Server
	bid    string
}

// TestNamespacesShareOneRedis runs two applications on one Redis under
// two key prefixes (the default one, and another given in the URL), with
// the same queue names, jobs and batches in both: each server runs only its
// own application's jobs, and each sees only its own queues, counters,
// dead jobs, batches and processes. Every key written belongs to exactly
// one of the two prefixes.
func TestNamespacesShareOneRedis(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	open := func(opts redis.Options) *redis.Backend {
		b, err := redis.Open(ctx, opts)
		if err != nil {
			t.Fatalf("redis.Open(%+v): %v", opts, err)
		}
		t.Cleanup(func() { _ = b.Close() })
		return b
	}
	nss := []*namespace{
		{name: "jl", b: open(redis.Options{URL: srv.URL}), jobs: 7, dead: 2, batch: 3},
		{name: "app2", b: open(redis.Options{URL: srv.URL + "/0?prefix=app2"}), jobs: 5, dead: 1, batch: 4},
	}
	for _, ns := range nss {
		if got := ns.b.Prefix(); got != ns.name {
			t.Fatalf("backend prefix %q, want %q", got, ns.name)
		}
		ns.client = NewClient(ns.b, ClientConfig{})
		ws := NewWorkers()
		AddWorker(ws, WorkFunc[nsArgs](func(_ context.Context, job *Job[nsArgs]) error {
			ns.mu.Lock()
			ns.seen = append(ns.seen, job.Args)
			ns.mu.Unlock()
			if job.Args.Fail {
				return errors.New("fails for good")
			}
			return nil
		}), nil)
		cfg := fastConfig(ws)
		cfg.Queues = map[string]int{DefaultQueue: 1, "shared": 1}
		ns.srv = startServer(t, ns.b, cfg)
	}
	for _, ns := range nss {
		for i := range ns.jobs {
			opts := &EnqueueOpts{Queue: "shared", MaxRetries: NoRetries}
			if i%2 == 0 {
				opts.Queue = DefaultQueue
			}
			if _, err := ns.client.Enqueue(ctx, nsArgs{NS: ns.name, N: i, Fail: i < ns.dead}, opts); err != nil {
				t.Fatalf("%s: Enqueue: %v", ns.name, err)
			}
		}
		batch, err := ns.client.NewBatch(ctx, BatchOpts{Description: "batch of " + ns.name})
		if err != nil {
			t.Fatalf("%s: NewBatch: %v", ns.name, err)
		}
		for i := range ns.batch {
			if err := batch.Add(ctx, EnqueueParams{Args: nsArgs{NS: ns.name, N: 100 + i}, Opts: EnqueueOpts{Queue: "shared"}}); err != nil {
				t.Fatalf("%s: batch Add: %v", ns.name, err)
			}
		}
		if err := batch.Commit(ctx); err != nil {
			t.Fatalf("%s: Commit: %v", ns.name, err)
		}
		ns.bid = batch.ID()
	}
	for _, ns := range nss {
		want := int64(ns.jobs + ns.batch)
		waitFor(t, ns.name+"'s jobs to run and its batch to succeed", func() bool {
			st, err := ns.b.Stats(ctx, time.Now())
			if err != nil || st.Processed < want {
				return false
			}
			bs, err := ns.client.BatchStatus(ctx, ns.bid)
			return err == nil && bs.State == backend.BatchSucceeded
		})
	}

	for _, ns := range nss {
		ns.mu.Lock()
		seen := slices.Clone(ns.seen)
		ns.mu.Unlock()
		if len(seen) != ns.jobs+ns.batch {
			t.Errorf("%s's server ran %d jobs, want %d: %v", ns.name, len(seen), ns.jobs+ns.batch, seen)
		}
		for _, a := range seen {
			if a.NS != ns.name {
				t.Errorf("%s's server ran a job of %s: %+v", ns.name, a.NS, a)
			}
		}
		st, err := ns.b.Stats(ctx, time.Now())
		if err != nil {
			t.Fatalf("%s: Stats: %v", ns.name, err)
		}
		if st.Processed != int64(ns.jobs+ns.batch) || st.Failed != int64(ns.dead) {
			t.Errorf("%s: processed %d failed %d, want %d and %d", ns.name, st.Processed, st.Failed, ns.jobs+ns.batch, ns.dead)
		}
		var dead int64
		var names []string
		for _, q := range st.Queues {
			dead += q.Dead
			names = append(names, q.Name)
		}
		if dead != int64(ns.dead) || !slices.Equal(names, []string{DefaultQueue, "shared"}) {
			t.Errorf("%s: queues %v holding %d dead jobs, want [default shared] and %d", ns.name, names, dead, ns.dead)
		}
		if len(st.Processes) != 1 || st.Processes[0].ID != ns.srv.ProcessID() {
			t.Errorf("%s: processes %+v, want only its own server %s", ns.name, st.Processes, ns.srv.ProcessID())
		}
		page, err := ns.b.ListJobs(ctx, backend.JobFilter{Set: backend.SetDead, Limit: 100})
		if err != nil {
			t.Fatalf("%s: ListJobs dead: %v", ns.name, err)
		}
		if len(page.Jobs) != ns.dead {
			t.Errorf("%s: %d dead jobs listed, want %d", ns.name, len(page.Jobs), ns.dead)
		}
		for _, j := range page.Jobs {
			if want := fmt.Sprintf(`"ns":%q`, ns.name); !strings.Contains(string(j.Args), want) {
				t.Errorf("%s lists a dead job of another namespace: %s", ns.name, j.Args)
			}
		}
		batches, err := ns.b.ListBatches(ctx, backend.BatchListOptions{Limit: 100})
		if err != nil {
			t.Fatalf("%s: ListBatches: %v", ns.name, err)
		}
		if len(batches) != 1 || batches[0].ID != ns.bid || batches[0].Total != int64(ns.batch) {
			t.Errorf("%s lists batches %+v, want only its own %s", ns.name, batches, ns.bid)
		}
	}

	// Every key belongs to exactly one of the two layouts.
	var layouts []rediskeys.Layout
	for _, ns := range nss {
		l, err := rediskeys.New(ns.name)
		if err != nil {
			t.Fatal(err)
		}
		layouts = append(layouts, l)
	}
	keys := scanKeys(t, nss[0].b.Client())
	owned := make([]int, len(layouts))
	for _, k := range keys {
		n := 0
		for i, l := range layouts {
			if l.Owns(k) {
				n++
				owned[i]++
			}
		}
		if n != 1 {
			t.Errorf("key %q is owned by %d prefixes, want 1", k, n)
		}
	}
	for i, n := range owned {
		if n == 0 {
			t.Errorf("prefix %s owns no key", layouts[i].Prefix())
		}
	}
}

// scanKeys returns every key of the (standalone) Redis c is connected to.
func scanKeys(t *testing.T, c rueidis.Client) []string {
	t.Helper()
	var keys []string
	var cursor uint64
	for {
		e, err := c.Do(context.Background(), c.B().Scan().Cursor(cursor).Count(1000).Build()).AsScanEntry()
		if err != nil {
			t.Fatalf("SCAN: %v", err)
		}
		keys = append(keys, e.Elements...)
		if cursor = e.Cursor; cursor == 0 {
			return keys
		}
	}
}
