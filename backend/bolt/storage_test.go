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
// the 1 KiB page holding its job, and the stored bits are the job's
// backend.JobState at its dense index.
func TestBatchStatesLiveInFixedPages(t *testing.T) {
	b := openTest(t)
	ctx := context.Background()
	const n = 2*backend.BatchPageSize + 100      // three pages, the last one barely used
	const pagedLen = backend.BatchPageSize/4 + 2 // states and settled count
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
	dead := byIndex[backend.BatchPageSize+7].Job.Clone()
	dead.DiedAt = now
	if err := b.Complete(ctx, "p", []backend.Result{
		succeed(byIndex[0]),
		{Fetched: byIndex[backend.BatchPageSize+7], Outcome: backend.OutcomeDead, Job: dead},
	}); err != nil {
		t.Fatal(err)
	}
	got := pages(t, b, "big")
	if len(got) != 2 || got[0] != pagedLen || got[1] != pagedLen {
		t.Fatalf("pages after two acks = %v, want pages 0 and 1 of %d bytes", got, pagedLen)
	}
	retry := byIndex[n-1].Job.Clone()
	if err := b.Complete(ctx, "p", []backend.Result{{Fetched: byIndex[n-1], Outcome: backend.OutcomeRetry, Job: retry, RetryAt: now.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	err := b.DB().View(func(tx *bbolt.Tx) error {
		bk := tx.Bucket(bucketBatches).Bucket([]byte("big"))
		for idx, want := range map[int64]backend.JobState{
			0: backend.StateSucceeded, 1: backend.StatePending, backend.BatchPageSize + 7: backend.StateEnded,
			backend.BatchPageSize + 6: backend.StatePending, n - 1: backend.StateFailing, n - 2: backend.StatePending,
		} {
			if got, err := readState(bk, idx); err != nil || got != want {
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

// TestBatchPagesDropped: a page whose every job has settled is deleted and
// marked done, its jobs read as backend.DroppedPageState; a page with a
// retrying job, or with a dead one, is kept; the partial last page too.
// Counters and stale duplicates are checked on every backend by the
// conformance group BatchPages.
func TestBatchPagesDropped(t *testing.T) {
	b := openTest(t)
	ctx := context.Background()
	const n = 3*backend.BatchPageSize + 10
	if err := b.CreateBatch(ctx, &backend.BatchSpec{ID: "big", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if err := b.AddToBatch(ctx, &backend.BatchAdd{BatchID: "big", Jobs: testJobs("bq", n, "j")}); err != nil {
		t.Fatal(err)
	}
	if err := b.CommitBatch(ctx, "big"); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	retrying, dead := int64(backend.BatchPageSize+1), int64(2*backend.BatchPageSize+2)
	for {
		fr, err := b.Fetch(ctx, backend.FetchParams{Proc: "p", Queues: []string{"bq"}, Max: 5000})
		fs := fr.Jobs
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) == 0 {
			break
		}
		res := make([]backend.Result, len(fs))
		for i, f := range fs {
			switch f.BatchIndex {
			case retrying:
				res[i] = backend.Result{Fetched: f, Outcome: backend.OutcomeRetry, Job: f.Job.Clone(), RetryAt: now.Add(time.Hour)}
			case dead:
				j := f.Job.Clone()
				j.DiedAt = now
				res[i] = backend.Result{Fetched: f, Outcome: backend.OutcomeDead, Job: j}
			default:
				res[i] = succeed(f)
			}
		}
		if err := b.Complete(ctx, "p", res); err != nil {
			t.Fatal(err)
		}
	}
	got := pages(t, b, "big")
	if _, ok := got[0]; ok || len(got) != 3 {
		t.Fatalf("pages = %v, want 1, 2 (a retrying and a dead job) and 3 (partial)", got)
	}
	err := b.DB().View(func(tx *bbolt.Tx) error {
		bk := tx.Bucket(bucketBatches).Bucket([]byte("big"))
		for idx, want := range map[int64]backend.JobState{
			0: backend.DroppedPageState, 5: backend.DroppedPageState, retrying: backend.StateFailing,
			dead: backend.StateEnded, n - 1: backend.StateSucceeded,
		} {
			if got, err := readState(bk, idx); err != nil || got != want {
				t.Errorf("state of job %d = %v, %v; want %v", idx, got, err, want)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
