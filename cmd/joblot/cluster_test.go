package main

import (
	"strconv"
	"testing"

	"github.com/joblot/joblot/internal/redistest"
)

// The CLI on a Redis Cluster: bench runs batches end to end, and what it
// measures (used_memory, batch bytes) covers every master, not just the
// node a keyless command happens to reach.
func TestBenchOnACluster(t *testing.T) {
	cluster := redistest.StartCluster(t, 3)
	store := []string{"--redis", cluster.URL}
	res := decode(t, mustRun(t, args(store, "bench", "--jobs", "3000", "--batch-size", "500", "--fail-rate", "0.1", "--retries", "0", "--json")...))
	if num(t, res, "lost") != 0 || num(t, res, "batches") != 6 || num(t, res, "callbacks_complete") != 6 || num(t, res, "callbacks_death") != 6 {
		t.Errorf("bench on a cluster: %v", res)
	}
	// Six batches' keys spread over three masters: reading one node would
	// see about a third of them.
	var batchBytes int64
	for _, n := range cluster.Nodes {
		c := redisClient(t, n)
		keys, err := redisDo(t, c, "KEYS", "{jl:b:*").AsStrSlice()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range keys {
			b, err := redisDo(t, c, "MEMORY", "USAGE", k, "SAMPLES", "0").AsInt64()
			if err != nil {
				t.Fatal(err)
			}
			batchBytes += b
		}
	}
	if got := num(t, res, "batch_bookkeeping_bytes"); int64(got) != batchBytes {
		t.Errorf("batch_bookkeeping_bytes = %v, want %d (MEMORY USAGE of every batch key on every master)", got, batchBytes)
	}
	t.Logf("bench on 3 masters: batch_bookkeeping_bytes %v, used_memory_after %v", num(t, res, "batch_bookkeeping_bytes"), num(t, res, "used_memory_after"))
	var one int64
	for _, n := range cluster.Nodes {
		v, err := n.Info("used_memory")
		if err != nil {
			t.Fatal(err)
		}
		u, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		one = max(one, u)
	}
	if after := num(t, res, "used_memory_after"); after <= float64(one) {
		t.Errorf("used_memory_after %v is not more than one node's used_memory %d: not summed over the masters", after, one)
	}
	if out := mustRun(t, args(store, "batch", "list")...); !contains(out, "STATE") {
		t.Errorf("batch list on a cluster:\n%s", out)
	}
}
