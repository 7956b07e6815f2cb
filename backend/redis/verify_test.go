package redis

import (
	"context"
	"testing"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/backendtest"
	"github.com/joblot/joblot/internal/redistest"
)

// TestBatchVerify runs the verify rows that damage a batch in Redis
// (backendtest.RunBatchVerify): HINCRBY of a counter, BITFIELD SET of a
// state, LREM of a queued job.
func TestBatchVerify(t *testing.T) {
	srv := redistest.Start(t)
	backendtest.RunBatchVerify(t, func(t *testing.T, opts backendtest.Options) backend.Backend {
		if _, err := srv.Do("FLUSHALL"); err != nil {
			t.Fatalf("FLUSHALL: %v", err)
		}
		b, err := Open(context.Background(), Options{URL: srv.URL, Limits: opts.Limits})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = b.Close() })
		return b
	}, corrupter{})
}

// corrupter writes Redis behind the backend's back.
type corrupter struct{}

func (corrupter) AddCounter(t *testing.T, bb backend.Backend, id string, k backend.Counter, delta int64) {
	b := bb.(*Backend)
	if err := b.c.Do(context.Background(), b.c.B().Hincrby().Key(b.keys.BMeta(id)).Field(backend.CounterNames[k]).Increment(delta).Build()).Error(); err != nil {
		t.Fatalf("HINCRBY: %v", err)
	}
}

func (corrupter) SetState(t *testing.T, bb backend.Backend, id string, idx int64, s backend.JobState) {
	b := bb.(*Backend)
	ctx := context.Background()
	bits, slot := b.keys.BatchKeys(id)[1], idx
	// A paged batch keeps index idx in page idx/size at idx mod size.
	if size, err := b.c.Do(ctx, b.c.B().Hget().Key(b.keys.BMeta(id)).Field("pages").Build()).AsInt64(); err == nil && size > 0 {
		bits, slot = bits+":"+itoa(idx/size), idx%size
	}
	if err := b.c.Do(ctx, b.c.B().Arbitrary("BITFIELD").Keys(bits).Args("SET", "u2", "#"+itoa(slot), itoa(int64(s))).Build()).Error(); err != nil {
		t.Fatalf("BITFIELD SET: %v", err)
	}
}

func (corrupter) DropQueued(t *testing.T, bb backend.Backend, queue, id string) {
	b := bb.(*Backend)
	ctx := context.Background()
	key := b.keys.QJobs(queue)
	all, err := b.c.Do(ctx, b.c.B().Lrange().Key(key).Start(0).Stop(-1).Build()).AsStrSlice()
	if err != nil {
		t.Fatalf("LRANGE: %v", err)
	}
	for _, raw := range all {
		if j, err := backend.DecodeJob([]byte(raw)); err == nil && j.ID == id {
			if err := b.c.Do(ctx, b.c.B().Lrem().Key(key).Count(1).Element(raw).Build()).Error(); err != nil {
				t.Fatalf("LREM: %v", err)
			}
			return
		}
	}
	t.Fatalf("job %s not queued in %s", id, queue)
}

// TestBatchRepairRefusesChangedBatch: the repair script writes nothing when
// the bits it is given a checksum of are not the batch's any more.
func TestBatchRepairRefusesChangedBatch(t *testing.T) {
	b, _ := openTest(t)
	ctx := context.Background()
	id := "b-changed"
	if err := b.CreateBatch(ctx, &backend.BatchSpec{ID: id, CreatedAt: b.now()}); err != nil {
		t.Fatal(err)
	}
	if err := b.AddToBatch(ctx, &backend.BatchAdd{BatchID: id, Jobs: []*backend.Job{newJob("q")}}); err != nil {
		t.Fatal(err)
	}
	// Counters as stored (total 1, pending 1), bits checksum of "x" (not
	// the batch's), then the repair: pending 0, succeeded 1, job 0 = S.
	args := append([]string{ms(b.now())}, b.ttlArgs()...)
	args = append(args, "11f6ad8ec52a2984abaafd7c3b516503785c2072", "1", "1", "0", "0", "0", "0", "0", "0", "0", "0", "0", "1", "0", "0", "0", "0", "0", "2")
	status, _, err := firedReply(b.run(ctx, b.c, call{s: b.s.batchRepair, keys: b.keys.BatchKeys(id), args: args}))
	if err != nil || status != -3 {
		t.Fatalf("repair with a stale checksum = %d, %v; want -3 (changed)", status, err)
	}
	st, err := b.BatchStatus(ctx, id)
	if err != nil || st.Pending != 1 || st.Succeeded != 0 {
		t.Fatalf("after a refused repair: %+v, %v; want pending 1", st, err)
	}
}

// TestClusterBatchVerify runs the damaged-batch rows on a live 3-master
// cluster, where a batch and its jobs are on different nodes.
func TestClusterBatchVerify(t *testing.T) {
	cluster := redistest.StartCluster(t, 3)
	backendtest.RunBatchVerify(t, func(t *testing.T, opts backendtest.Options) backend.Backend {
		if err := cluster.FlushAll(); err != nil {
			t.Fatal(err)
		}
		b, err := Open(context.Background(), Options{URL: cluster.URL, Limits: opts.Limits})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = b.Close() })
		return b
	}, corrupter{})
}
