package redis_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/rediskeys"
	"github.com/joblot/joblot/internal/redistest"
)

// TestClusterConformance runs the full conformance suite against a live
// 3-master Redis Cluster; every node is flushed before every subtest.
func TestClusterConformance(t *testing.T) {
	cluster := redistest.StartCluster(t, 3)
	conformanceOn(t, cluster.URL, cluster.FlushAll)
}

// TestClusterSpreadsQueuesOverNodes checks that the backend runs as a
// cluster client and that queues, by their hash tags, land on several nodes
// while the global queue index still sees all of them.
func TestClusterSpreadsQueuesOverNodes(t *testing.T) {
	ctx := context.Background()
	cluster := redistest.StartCluster(t, 3)
	b := openLive(t, cluster.URL, backend.Limits{})
	if m := b.Client().Mode(); m != rueidis.ClientModeCluster {
		t.Fatalf("client mode = %v, want cluster", m)
	}

	queues := []string{"q0", "q1", "q2", "q3", "q4", "q5", "q6", "q7"}
	var jobs []*backend.Job
	for _, q := range queues {
		for range 2 {
			jobs = append(jobs, &backend.Job{ID: backend.NewJobID(), Kind: "noop", Queue: q, Args: []byte(`{}`), CreatedAt: time.Now()})
		}
	}
	if _, err := b.Enqueue(ctx, jobs); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	holding := 0
	for _, n := range cluster.Nodes {
		if out, err := n.Do("DBSIZE"); err != nil {
			t.Fatalf("%s DBSIZE: %v", n.Addr, err)
		} else if out != "0" {
			holding++
		}
	}
	if holding < 2 {
		t.Fatalf("%d queues' keys sit on %d node(s) of 3: the cluster is not used", len(queues), holding)
	}
	st, err := b.Stats(ctx, time.Now())
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	sizes := map[string]int64{}
	for _, qs := range st.Queues {
		sizes[qs.Name] = qs.Size
	}
	for _, q := range queues {
		if sizes[q] != 2 {
			t.Fatalf("Stats: queue %s size %d, want 2 (all: %v)", q, sizes[q], sizes)
		}
	}
	fr, err := b.Fetch(ctx, backend.FetchParams{Proc: "p1", Queues: queues, Max: len(jobs)})
	got := fr.Jobs
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if len(got) != len(jobs) {
		t.Fatalf("Fetch over %d queues on 3 nodes got %d jobs, want %d", len(queues), len(got), len(jobs))
	}
}

// TestClusterOpenRefusesAnyEvictingNode checks the eviction guard on every
// node: one evicting master loses the jobs of every queue it serves, so
// Open must refuse whichever node it is.
func TestClusterOpenRefusesAnyEvictingNode(t *testing.T) {
	ctx := context.Background()
	cluster := redistest.StartCluster(t, 3)
	for _, n := range cluster.Nodes {
		if _, err := n.Do("CONFIG", "SET", "maxmemory-policy", "allkeys-lru"); err != nil {
			t.Fatalf("%s CONFIG SET: %v", n.Addr, err)
		}
		b, err := redis.Open(ctx, redis.Options{URL: cluster.URL})
		if err == nil {
			_ = b.Close()
		}
		if !errors.Is(err, backend.ErrUnsafeEviction) {
			t.Errorf("node %s evicts: Open err = %v, want ErrUnsafeEviction", n.Addr, err)
		}
		if _, err := n.Do("CONFIG", "SET", "maxmemory-policy", "noeviction"); err != nil {
			t.Fatalf("%s CONFIG SET: %v", n.Addr, err)
		}
	}
}

// TestClusterMemoryReportsTheFullestNode checks what the memory watchdog
// sees on a Cluster: the node nearest its maxmemory (it refuses writes
// first), or, with no limits anywhere, the sum over the nodes.
func TestClusterMemoryReportsTheFullestNode(t *testing.T) {
	ctx := context.Background()
	cluster := redistest.StartCluster(t, 3)
	b := openLive(t, cluster.URL, backend.Limits{})
	used := func(n *redistest.Server) int64 {
		v, err := n.Info("used_memory")
		if err != nil {
			t.Fatal(err)
		}
		u, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	m, err := b.Memory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if one := used(cluster.Nodes[0]); m.Limit != 0 || m.Used < 2*one {
		t.Errorf("no limits: Memory = %+v, want the sum over 3 nodes of about %d B each", m, one)
	}
	for i, factor := range map[int]int64{1: 8, 2: 3} {
		limit := used(cluster.Nodes[i]) * factor
		if _, err := cluster.Nodes[i].Do("CONFIG", "SET", "maxmemory", strconv.FormatInt(limit, 10)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cluster.Nodes[i].Do("CONFIG", "SET", "maxmemory", "0") })
	}
	m, err = b.Memory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := cluster.Nodes[2].Info("maxmemory")
	if strconv.FormatInt(m.Limit, 10) != want {
		t.Errorf("Memory = %+v, want node 2's limit %s (used at a third of it; node 1 at an eighth)", m, want)
	}
}

// TestClusterCustomPrefix runs queues, failures and a batch on a 3-master
// Cluster under a key prefix other than the default: every script call
// succeeds (a key of another slot would fail it with CROSSSLOT), every key
// written is the prefix's, and the keys of one queue, or of one batch,
// share one slot.
func TestClusterCustomPrefix(t *testing.T) {
	ctx := context.Background()
	cluster := redistest.StartCluster(t, 3)
	b, err := redis.Open(ctx, redis.Options{URL: cluster.URL + "&prefix=app1"})
	if err != nil {
		t.Fatalf("redis.Open: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	if b.Prefix() != "app1" {
		t.Fatalf("prefix %q, want app1", b.Prefix())
	}
	queues := []string{"q0", "q1", "q2", "q3", "q4", "q5"}
	var jobs []*backend.Job
	for _, q := range queues {
		for range 3 {
			jobs = append(jobs, &backend.Job{ID: backend.NewJobID(), Kind: "noop", Queue: q, Args: []byte(`{}`), CreatedAt: time.Now()})
		}
	}
	if _, err := b.Enqueue(ctx, jobs); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	if err := b.CreateBatch(ctx, &backend.BatchSpec{ID: "bt", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := b.AddToBatch(ctx, &backend.BatchAdd{BatchID: "bt", Jobs: []*backend.Job{
		{ID: backend.NewJobID(), Kind: "noop", Queue: "q0", Args: []byte(`{}`), CreatedAt: time.Now()},
		{ID: backend.NewJobID(), Kind: "noop", Queue: "q3", Args: []byte(`{}`), CreatedAt: time.Now()},
	}}); err != nil {
		t.Fatal(err)
	}
	if err := b.CommitBatch(ctx, "bt"); err != nil {
		t.Fatal(err)
	}
	if err := b.Heartbeat(ctx, backend.ProcessInfo{ID: "p1", Queues: queues}, time.Hour); err != nil {
		t.Fatal(err)
	}
	fetched, err := b.Fetch(ctx, backend.FetchParams{Proc: "p1", Queues: queues, Max: 100})
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	got := fetched.Jobs
	if len(got) != len(jobs)+2 {
		t.Fatalf("fetched %d jobs, want %d", len(got), len(jobs)+2)
	}
	var res []backend.Result
	for i, f := range got {
		if i%3 == 0 && f.BatchID == "" {
			j := f.Job.Clone()
			j.ErrorMessage, j.ErrorClass, j.ErrorFingerprint, j.DiedAt = "fatal", "F", "fp", time.Now()
			res = append(res, backend.Result{Fetched: f, Outcome: backend.OutcomeDead, Job: j})
			continue
		}
		res = append(res, backend.Result{Fetched: f, Outcome: backend.OutcomeSucceeded})
	}
	if err := b.Complete(ctx, "p1", res[:len(res)-1]); err != nil { // the last stays in flight
		t.Fatalf("Complete: %v", err)
	}

	l, err := rediskeys.New("app1")
	if err != nil {
		t.Fatal(err)
	}
	slotOf := map[string]int64{} // queue or batch tag -> slot
	families := map[string]bool{}
	c := b.Client()
	for addr, n := range c.Nodes() {
		var cursor uint64
		for {
			e, err := n.Do(ctx, n.B().Scan().Cursor(cursor).Count(1000).Build()).AsScanEntry()
			if err != nil {
				t.Fatalf("SCAN %s: %v", addr, err)
			}
			for _, k := range e.Elements {
				if !l.Owns(k) {
					t.Errorf("key %q on %s is not of prefix app1", k, addr)
				}
				tag, suffix, ok := l.ParseQueueKey(k)
				if !ok {
					if tag, suffix, ok = l.ParseBatchKey(k); ok {
						tag = "batch " + tag
					}
				}
				if !ok {
					continue
				}
				families[suffix] = true
				slot, err := n.Do(ctx, n.B().ClusterKeyslot().Key(k).Build()).AsInt64()
				if err != nil {
					t.Fatal(err)
				}
				if prev, seen := slotOf[tag]; seen && prev != slot {
					t.Errorf("keys of %s sit in slots %d and %d (%q)", tag, prev, slot, k)
				}
				slotOf[tag] = slot
			}
			if cursor = e.Cursor; cursor == 0 {
				break
			}
		}
	}
	for _, want := range []string{"stats", "dead", "wip:p1", "meta", "bits:0"} {
		if !families[want] {
			t.Errorf("no %q key found (found %v): the check saw too little", want, families)
		}
	}
	if len(slotOf) != len(queues)+1 {
		t.Errorf("keys of %d queues and batches found, want %d: %v", len(slotOf), len(queues)+1, slotOf)
	}
}
