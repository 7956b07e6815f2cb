package bolt

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/joblot/joblot/backend"
)

func openTest(t *testing.T) *Backend {
	t.Helper()
	b, err := Open(filepath.Join(t.TempDir(), "joblot.db"), Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func testJobs(queue string, n int, prefix string) []*backend.Job {
	js := make([]*backend.Job, n)
	for i := range js {
		js[i] = &backend.Job{ID: prefix + strconv.Itoa(i), Kind: "k", Queue: queue, Args: []byte(`{"x":1}`), CreatedAt: time.Now()}
	}
	return js
}

// drain fetches and completes every job of queue with outcome.
func drain(t testing.TB, b *Backend, queue string, chunk int, res func(f *backend.Fetched) backend.Result) int {
	t.Helper()
	ctx := context.Background()
	n := 0
	for {
		fr, err := b.Fetch(ctx, backend.FetchParams{Proc: "p", Queues: []string{queue}, Max: chunk})
		fs := fr.Jobs
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) == 0 {
			return n
		}
		rs := make([]backend.Result, len(fs))
		for i, f := range fs {
			rs[i] = res(f)
		}
		if err := b.Complete(ctx, "p", rs); err != nil {
			t.Fatal(err)
		}
		n += len(fs)
	}
}

func succeed(f *backend.Fetched) backend.Result {
	return backend.Result{Fetched: f, Outcome: backend.OutcomeSucceeded}
}

// pages returns the page keys and value sizes stored for a batch.
func pages(t *testing.T, b *Backend, id string) map[uint32]int {
	t.Helper()
	out := map[uint32]int{}
	err := b.DB().View(func(tx *bbolt.Tx) error {
		bk := tx.Bucket(bucketBatches).Bucket([]byte(id))
		cur := bk.Cursor()
		for k, v := cur.Seek([]byte("p")); k != nil && k[0] == 'p'; k, v = cur.Next() {
			out[uint32(k[1])<<24|uint32(k[2])<<16|uint32(k[3])<<8|uint32(k[4])] = len(v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBatchStatesLiveInFixedPages checks the batch state layout: adding
// jobs writes no page (pending is the zero value), an event rewrites only
// the 4 KiB page holding its job, and the stored bits are the job's
// backend.JobState at its dense index.
func TestBatchStatesLiveInFixedPages(t *testing.T) {
	b := openTest(t)
	ctx := context.Background()
	const n = 2*pageJobs + 100 // three pages, the last one barely used
	if err := b.CreateBatch(ctx, &backend.BatchSpec{ID: "big", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i += 5000 {
		if err := b.AddToBatch(ctx, &backend.BatchAdd{BatchID: "big", Jobs: testJobs("bq", min(5000, n-i), "j"+strconv.Itoa(i)+"-")}); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.CommitBatch(ctx, "big"); err != nil {
		t.Fatal(err)
	}
	if got := pages(t, b, "big"); len(got) != 0 {
		t.Fatalf("pages after adding %d pending jobs = %v, want none", n, got)
	}
	// Fetch everything; ack only jobs at chosen indexes.
	var all []*backend.Fetched
	for {
		fr, err := b.Fetch(ctx, backend.FetchParams{Proc: "p", Queues: []string{"bq"}, Max: 5000})
		fs := fr.Jobs
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) == 0 {
			break
		}
		all = append(all, fs...)
	}
	if len(all) != n {
		t.Fatalf("fetched %d, want %d", len(all), n)
	}
	byIndex := map[int64]*backend.Fetched{}
	for _, f := range all {
		byIndex[f.BatchIndex] = f
	}
	now := time.Now()
	dead := byIndex[pageJobs+7].Job.Clone()
	dead.DiedAt = now
	if err := b.Complete(ctx, "p", []backend.Result{
		succeed(byIndex[0]),
		{Fetched: byIndex[pageJobs+7], Outcome: backend.OutcomeDead, Job: dead},
	}); err != nil {
		t.Fatal(err)
	}
	got := pages(t, b, "big")
	if len(got) != 2 || got[0] != pageBytes || got[1] != pageBytes {
		t.Fatalf("pages after two acks = %v, want pages 0 and 1 of %d bytes", got, pageBytes)
	}
	retry := byIndex[n-1].Job.Clone()
	if err := b.Complete(ctx, "p", []backend.Result{{Fetched: byIndex[n-1], Outcome: backend.OutcomeRetry, Job: retry, RetryAt: now.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	err := b.DB().View(func(tx *bbolt.Tx) error {
		bk := tx.Bucket(bucketBatches).Bucket([]byte("big"))
		for idx, want := range map[int64]backend.JobState{
			0: backend.StateSucceeded, 1: backend.StatePending, pageJobs + 7: backend.StateEnded,
			pageJobs + 6: backend.StatePending, n - 1: backend.StateFailing, n - 2: backend.StatePending,
		} {
			if got := readState(bk, idx); got != want {
				t.Errorf("state of job %d = %v, want %v", idx, got, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	st, err := b.BatchStatus(ctx, "big")
	if err != nil {
		t.Fatal(err)
	}
	if st.Total != n || st.Succeeded != 1 || st.Dead != 1 || st.Failing != 1 || st.Pending != n-3 {
		t.Fatalf("status = %+v", st)
	}
}

// TestFileSizeBoundedUnderSteadyLoad runs 10 rounds of 20,000 jobs through
// enqueue, fetch and complete: freed pages are reused, so the file after
// round 10 is at most twice its size after round 1, and the emptied queue
// keeps no pages beyond its root.
func TestFileSizeBoundedUnderSteadyLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("long run")
	}
	b := openTest(t)
	ctx := context.Background()
	var first int64
	for round := range 10 {
		for i := 0; i < 20_000; i += 1000 {
			if _, err := b.Enqueue(ctx, testJobs("steady", 1000, "r"+strconv.Itoa(round)+"-"+strconv.Itoa(i)+"-")); err != nil {
				t.Fatal(err)
			}
		}
		if got := drain(t, b, "steady", 250, succeed); got != 20_000 {
			t.Fatalf("round %d: drained %d jobs", round, got)
		}
		size, err := b.FileSize()
		if err != nil {
			t.Fatal(err)
		}
		if round == 0 {
			first = size
		}
		t.Logf("round %d: file %d bytes", round+1, size)
		if size > 2*first {
			t.Fatalf("round %d: file grew to %d bytes, more than twice its %d bytes after round 1", round+1, size, first)
		}
	}
	err := b.DB().View(func(tx *bbolt.Tx) error {
		st := tx.Bucket(bucketQueues).Bucket([]byte("steady")).Bucket(subJobs).Stats()
		if st.KeyN != 0 || st.BranchPageN+st.LeafPageN > 1 {
			t.Errorf("empty queue bucket holds %d keys in %d branch and %d leaf pages", st.KeyN, st.BranchPageN, st.LeafPageN)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
