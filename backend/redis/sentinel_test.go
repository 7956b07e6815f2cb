package redis_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/redistest"
)

// TestSentinelConformance runs the conformance suite through a live Redis
// Sentinel: the backend is given only the sentinel's address and must find
// the master through it. The master is flushed before every subtest.
func TestSentinelConformance(t *testing.T) {
	master := redistest.Start(t)
	sentinel := redistest.StartSentinel(t, master)
	conformanceOn(t, sentinel.URL, func() error {
		_, err := master.Do("FLUSHALL")
		return err
	})
}

// TestSentinelWritesLandOnTheMaster checks that a backend opened with the
// sentinel URL, which names no data node, writes to the master the sentinel
// monitors.
func TestSentinelWritesLandOnTheMaster(t *testing.T) {
	ctx := context.Background()
	master := redistest.Start(t)
	sentinel := redistest.StartSentinel(t, master)
	b := openLive(t, sentinel.URL, backend.Limits{})

	if m := b.Client().Mode(); m != rueidis.ClientModeSentinel {
		t.Fatalf("client mode = %v, want sentinel", m)
	}
	job := sentinelJob()
	if _, err := b.Enqueue(ctx, []*backend.Job{job}); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	if n, err := master.Do("LLEN", "{jl:q:s}:jobs"); err != nil || n != "1" {
		t.Fatalf("master LLEN {jl:q:s}:jobs = %q %v, want 1", n, err)
	}
	if v, err := master.Do("GET", "jl:version"); err != nil || v == "" {
		t.Fatalf("master has no jl:version (%q %v): Open did not write through the sentinel", v, err)
	}
	fr, err := b.Fetch(ctx, backend.FetchParams{Proc: "p1", Queues: []string{"s"}, Max: 10})
	got := fr.Jobs
	if err != nil || len(got) != 1 || got[0].ID != job.ID {
		t.Fatalf("Fetch = %v %v, want job %s", got, err, job.ID)
	}
}

// TestSentinelFailover promotes the replica through the sentinel and checks
// that the backend follows the switch: the job written before the failover
// (replicated) and one written after it are both fetched from the new
// master.
func TestSentinelFailover(t *testing.T) {
	ctx := context.Background()
	// No diskless-sync delay: the replica's first sync starts at once.
	master := redistest.Start(t, redistest.Options{Args: []string{"--repl-diskless-sync-delay", "0"}})
	host, port, _ := strings.Cut(master.Addr, ":")
	replica := redistest.Start(t, redistest.Options{Args: []string{"--replicaof", host, port}})
	sentinel := redistest.StartSentinel(t, master)
	b := openLive(t, sentinel.URL, backend.Limits{})
	if m := b.Client().Mode(); m != rueidis.ClientModeSentinel {
		t.Fatalf("client mode = %v, want sentinel", m)
	}

	before := sentinelJob()
	if _, err := b.Enqueue(ctx, []*backend.Job{before}); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	// The job must be on the replica, and the sentinel must know the
	// replica as a healthy one, before it can be promoted without loss.
	waitFor(t, "the replica to hold the job", func() error {
		if n, err := replica.Do("LLEN", "{jl:q:s}:jobs"); err != nil || n != "1" {
			return fmt.Errorf("replica LLEN = %q %v", n, err)
		}
		return nil
	})
	waitFor(t, "the sentinel to list the replica", func() error {
		out, err := sentinel.Do("SENTINEL", "REPLICAS", redistest.SentinelMasterName)
		if err != nil || !strings.Contains(out, "master-link-status\nok") {
			return fmt.Errorf("SENTINEL REPLICAS = %q %v", out, err)
		}
		return nil
	})
	if _, err := sentinel.Do("SENTINEL", "FAILOVER", redistest.SentinelMasterName); err != nil {
		t.Fatalf("SENTINEL FAILOVER: %v", err)
	}
	waitFor(t, "the sentinel to report the replica as master", func() error {
		st, err := sentinel.MasterState()
		if err != nil {
			return err
		}
		if got := st["ip"] + ":" + st["port"]; got != replica.Addr {
			return fmt.Errorf("sentinel master is %s", got)
		}
		return nil
	})
	// The client learns of the switch from the sentinel's +switch-master
	// message; until then it would still write to the old master, which
	// the sentinel has not demoted yet and which still accepts writes.
	waitFor(t, "the client to follow the switch", func() error {
		nodes := b.Client().Nodes()
		if _, ok := nodes[replica.Addr]; !ok || len(nodes) != 1 {
			return fmt.Errorf("client talks to %v", nodes)
		}
		return nil
	})

	after := sentinelJob()
	if _, err := b.Enqueue(ctx, []*backend.Job{after}); err != nil {
		t.Fatalf("Enqueue after failover: %v", err)
	}
	if n, err := replica.Do("LLEN", "{jl:q:s}:jobs"); err != nil || n != "2" {
		t.Fatalf("new master LLEN = %q %v, want 2", n, err)
	}
	fr, err := b.Fetch(ctx, backend.FetchParams{Proc: "p1", Queues: []string{"s"}, Max: 10})
	got := fr.Jobs
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	if len(got) != 2 || got[0].ID != before.ID || got[1].ID != after.ID {
		t.Fatalf("Fetch after failover = %v, want jobs %s then %s", got, before.ID, after.ID)
	}
}

func sentinelJob() *backend.Job {
	return &backend.Job{ID: backend.NewJobID(), Kind: "noop", Queue: "s", Args: []byte(`{}`), CreatedAt: time.Now()}
}

// waitFor polls cond until it returns nil, failing the test after a minute:
// generous, so that a failover on a busy machine makes the test slower,
// never red.
func waitFor(t *testing.T, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		time.Sleep(20 * time.Millisecond) // paces the poll only
	}
}
