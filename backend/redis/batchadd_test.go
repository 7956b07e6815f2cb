package redis

import (
	"context"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// TestAddFromJobRecoversAfterCrash: a process reserved batch indexes for jobs
// added from inside a job (batch_add.lua ran, recording the adding job's
// count) and died before enqueueing them. The re-run of the adding job
// repeats the add: the jobs are enqueued at their recorded indexes, the
// batch's counters do not move, and repeating the add again enqueues
// nothing twice.
func TestAddFromJobRecoversAfterCrash(t *testing.T) {
	ctx := context.Background()
	b, srv := openTest(t)
	const batch, adder = "b1", "job-1"
	if err := b.CreateBatch(ctx, &backend.BatchSpec{ID: batch}); err != nil {
		t.Fatal(err)
	}
	derived := func(from, n int) []*backend.Job {
		js := make([]*backend.Job, n)
		for i := range js {
			js[i] = newJob("q")
			js[i].ID = backend.DerivedJobID(adder, from+i)
		}
		return js
	}
	now := time.Now()
	// Crash 1: seqs 0..2 reserved (indexes 0..2), never enqueued.
	if _, err := b.reserve(ctx, batch, adder, 0, 3, now); err != nil {
		t.Fatal(err)
	}
	// A client add interleaves (indexes 3, 4), then crash 2: seqs 3..4
	// reserved at indexes 5, 6, never enqueued.
	client := []*backend.Job{newJob("q"), newJob("q")}
	if err := b.AddToBatch(ctx, &backend.BatchAdd{BatchID: batch, Jobs: client}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.reserve(ctx, batch, adder, 3, 2, now); err != nil {
		t.Fatal(err)
	}
	if v := mustHGet(t, srv.Do, batchKeys(batch)[7], adder); v != "5;0:3:0;3:2:5" {
		t.Fatalf("adds record = %q, want two runs", v)
	}

	// The re-run adds seqs 0..4 and one new job (seq 5, index 7).
	rerun := derived(0, 6)
	if err := b.AddToBatch(ctx, &backend.BatchAdd{BatchID: batch, AddedBy: adder, Seq: 0, Jobs: rerun}); err != nil {
		t.Fatalf("re-run add: %v", err)
	}
	st, err := b.BatchStatus(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if st.Total != 8 || st.Pending != 8 {
		t.Fatalf("batch total %d pending %d, want 8 and 8", st.Total, st.Pending)
	}
	// Twice more, in other chunkings: exactly once all the same.
	for _, seqs := range [][2]int{{0, 6}, {2, 3}} {
		if err := b.AddToBatch(ctx, &backend.BatchAdd{BatchID: batch, AddedBy: adder, Seq: seqs[0], Jobs: derived(seqs[0], seqs[1])}); err != nil {
			t.Fatalf("repeated add: %v", err)
		}
	}
	if err := b.CommitBatch(ctx, batch); err != nil {
		t.Fatal(err)
	}

	fs := mustFetch(t, b, "p1", "q", 100)
	index := map[string]int64{}
	for _, f := range fs {
		if _, dup := index[f.ID]; dup {
			t.Fatalf("job %s queued twice", f.ID)
		}
		index[f.ID] = f.BatchIndex
	}
	want := map[string]int64{client[0].ID: 3, client[1].ID: 4}
	for i, idx := range []int64{0, 1, 2, 5, 6, 7} {
		want[rerun[i].ID] = idx
	}
	if len(index) != len(want) {
		t.Fatalf("queued %d jobs %v, want %v", len(index), index, want)
	}
	for id, idx := range want {
		if got, ok := index[id]; !ok || got != idx {
			t.Fatalf("job %s: queued %v at index %d, want index %d", id, ok, got, idx)
		}
	}
	results := make([]backend.Result, len(fs))
	for i, f := range fs {
		results[i] = backend.Result{Fetched: f, Outcome: backend.OutcomeSucceeded}
	}
	if err := b.Complete(ctx, "p1", results); err != nil {
		t.Fatal(err)
	}
	st, err = b.BatchStatus(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != backend.BatchSucceeded || st.Succeeded != 8 {
		t.Fatalf("batch %s with %d of %d succeeded, want success", st.State, st.Succeeded, st.Total)
	}
	// After success, the repeated add is still a no-op that succeeds.
	if err := b.AddToBatch(ctx, &backend.BatchAdd{BatchID: batch, AddedBy: adder, Seq: 0, Jobs: derived(0, 6)}); err != nil {
		t.Fatalf("repeated add after success: %v", err)
	}
	if fs := mustFetch(t, b, "p1", "q", 100); len(fs) != 0 {
		t.Fatalf("repeated add after success queued %d jobs", len(fs))
	}
}

// TestAddRecordWithoutRuns: an adds record written before reservations were
// recorded (a bare count) still makes repeated adds skip those jobs.
func TestAddRecordWithoutRuns(t *testing.T) {
	ctx := context.Background()
	b, srv := openTest(t)
	if err := b.CreateBatch(ctx, &backend.BatchSpec{ID: "b1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Do("HSET", batchKeys("b1")[7], "job-1", "2"); err != nil {
		t.Fatal(err)
	}
	js := []*backend.Job{newJob("q"), newJob("q"), newJob("q")}
	if err := b.AddToBatch(ctx, &backend.BatchAdd{BatchID: "b1", AddedBy: "job-1", Jobs: js}); err != nil {
		t.Fatal(err)
	}
	fs := mustFetch(t, b, "p1", "q", 10)
	if len(fs) != 1 || fs[0].ID != js[2].ID || fs[0].BatchIndex != 0 {
		t.Fatalf("queued %d jobs, want only the third at index 0", len(fs))
	}
	if v := mustHGet(t, srv.Do, batchKeys("b1")[7], "job-1"); v != "3;2:1:0" {
		t.Fatalf("adds record = %q", v)
	}
}

// TestBytesPerJobAddedFromAJob measures what the once:<id> dedupe of jobs
// added from inside a job costs on top of a queued job while it lives
// (onceTTL): about 185 B with a 44-byte derived ID, against 65 B for the
// queued job itself. It fails above 300 B per job.
func TestBytesPerJobAddedFromAJob(t *testing.T) {
	const n = 20_000
	ctx := context.Background()
	b, _ := openTest(t)
	for _, by := range []string{"", "adder"} {
		t.Run("addedBy="+by, func(t *testing.T) {
			id := "b-" + by
			if err := b.CreateBatch(ctx, &backend.BatchSpec{ID: id}); err != nil {
				t.Fatal(err)
			}
			before := usedMemory(t, b)
			jobs := make([]*backend.Job, n)
			for i := range jobs {
				jobs[i] = noopJob("q-" + by)
				if by != "" {
					jobs[i].ID = backend.DerivedJobID("06H18UO7AURD4S8DPR20@06H18UO79AEN3PFCMSPG", i)
				}
			}
			if err := b.AddToBatch(ctx, &backend.BatchAdd{BatchID: id, AddedBy: by, Jobs: jobs}); err != nil {
				t.Fatal(err)
			}
			per := float64(usedMemory(t, b)-before) / n
			t.Logf("Redis bytes per job added (AddedBy %q): %.1f", by, per)
			if per > 300 {
				t.Fatalf("%.1f bytes per job added, want at most 300", per)
			}
		})
	}
}
