package redis

import (
	"context"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// TestAddFromJobRecoversAfterCrash: a job adding jobs to a batch crashes at
// each step of an add — after reserving indexes (batch_add.lua), after
// enqueueing but before marking them landed (batch_landed.lua) — and its
// re-run repeats the adds. Jobs only reserved are enqueued at their recorded
// indexes; jobs enqueued but not marked landed are enqueued again (the same
// ID at the same index: at-least-once, counted once); landed jobs are never
// enqueued again. The batch's counters count each index once and it
// succeeds when every job has run.
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
	record := func() string { t.Helper(); return mustHGet(t, srv.Do, b.keys.BatchKeys(batch)[7], adder) }
	addFromJob := func(seq int, js []*backend.Job) {
		t.Helper()
		if err := b.AddToBatch(ctx, &backend.BatchAdd{BatchID: batch, AddedBy: adder, Seq: seq, Jobs: js}); err != nil {
			t.Fatalf("add seqs %d..%d: %v", seq, seq+len(js)-1, err)
		}
	}
	wantCounts := func(total, pending, succeeded int64) {
		t.Helper()
		st, err := b.BatchStatus(ctx, batch)
		if err != nil {
			t.Fatal(err)
		}
		if st.Total != total || st.Pending != pending || st.Succeeded != succeeded {
			t.Fatalf("batch total %d pending %d succeeded %d, want %d %d %d", st.Total, st.Pending, st.Succeeded, total, pending, succeeded)
		}
	}
	now := time.Now()

	// Crash after reservation: seqs 0..2 reserved (indexes 0..2), never
	// enqueued; a client add interleaves (indexes 3, 4); seqs 3..4 reserved
	// at indexes 5, 6, never enqueued.
	if _, err := b.reserve(ctx, batch, adder, 0, 3, now); err != nil {
		t.Fatal(err)
	}
	client := []*backend.Job{newJob("q"), newJob("q")}
	if err := b.AddToBatch(ctx, &backend.BatchAdd{BatchID: batch, Jobs: client}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.reserve(ctx, batch, adder, 3, 2, now); err != nil {
		t.Fatal(err)
	}
	if v := record(); v != "5,0:3:0,3:2:5" {
		t.Fatalf("adds record = %q, want two pending runs", v)
	}
	// The re-run adds seqs 0..4 and one new job (seq 5, index 7): all land.
	rerun := derived(0, 6)
	addFromJob(0, rerun)
	wantCounts(8, 8, 0)
	if v := record(); v != "6" {
		t.Fatalf("adds record = %q after the re-run's add, want only the count", v)
	}
	// Landed: repeating the add, in other chunkings, enqueues nothing.
	addFromJob(0, derived(0, 6))
	addFromJob(2, derived(2, 3))

	// Crash after enqueue, before the landed mark: seqs 6..7 are queued at
	// indexes 8, 9, and the record still holds them as pending.
	late := derived(6, 2)
	if landed, err := b.addChunks(ctx, &backend.BatchAdd{BatchID: batch, AddedBy: adder, Seq: 6, Jobs: late}, now); err != nil || landed != 8 {
		t.Fatalf("addChunks = %d, %v", landed, err)
	}
	if v := record(); v != "8,6:2:8" {
		t.Fatalf("adds record = %q, want seqs 6..7 pending", v)
	}
	// The re-run's add queues them again, at the same indexes.
	addFromJob(6, derived(6, 2))
	addFromJob(6, derived(6, 2)) // landed now: nothing more
	wantCounts(10, 10, 0)
	if v := record(); v != "8" {
		t.Fatalf("adds record = %q, want only the count", v)
	}
	if err := b.CommitBatch(ctx, batch); err != nil {
		t.Fatal(err)
	}

	fs := mustFetch(t, b, "p1", "q", 100)
	want := map[string]int64{client[0].ID: 3, client[1].ID: 4, late[0].ID: 8, late[1].ID: 9}
	for i, idx := range []int64{0, 1, 2, 5, 6, 7} {
		want[rerun[i].ID] = idx
	}
	copies := map[string]int{}
	for _, f := range fs {
		copies[f.ID]++
		if idx, ok := want[f.ID]; !ok || f.BatchIndex != idx {
			t.Fatalf("job %s queued at index %d, want %d (known %v)", f.ID, f.BatchIndex, idx, ok)
		}
	}
	for id := range want {
		n := 1
		if id == late[0].ID || id == late[1].ID {
			n = 2 // enqueued, crash before landed, enqueued again
		}
		if copies[id] != n {
			t.Fatalf("job %s queued %d times, want %d", id, copies[id], n)
		}
	}
	// Every copy runs: each index counts once.
	results := make([]backend.Result, len(fs))
	for i, f := range fs {
		results[i] = backend.Result{Fetched: f, Outcome: backend.OutcomeSucceeded}
	}
	if err := b.Complete(ctx, "p1", results); err != nil {
		t.Fatal(err)
	}
	wantCounts(10, 0, 10)
	st, err := b.BatchStatus(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != backend.BatchSucceeded {
		t.Fatalf("batch %s with %d of %d succeeded, want success", st.State, st.Succeeded, st.Total)
	}
	// After success, the repeated add is still a no-op that succeeds.
	addFromJob(0, derived(0, 8))
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
	if _, err := srv.Do("HSET", b.keys.BatchKeys("b1")[7], "job-1", "2"); err != nil {
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
	if v := mustHGet(t, srv.Do, b.keys.BatchKeys("b1")[7], "job-1"); v != "3" {
		t.Fatalf("adds record = %q", v)
	}
}

// TestAddLegacyRecord: an adds record whose runs were written when adds from
// a job were enqueued under once:<id> (";" runs) is re-enqueued under that
// dedupe: a job whose first enqueue landed is not queued again, one lost to
// a crash is recovered at its recorded index. Then the record is landed.
func TestAddLegacyRecord(t *testing.T) {
	ctx := context.Background()
	b, srv := openTest(t)
	if err := b.CreateBatch(ctx, &backend.BatchSpec{ID: "b1"}); err != nil {
		t.Fatal(err)
	}
	// The old version reserved seqs 0..1 at indexes 0..1 and enqueued only
	// seq 0 (its once key is set; the job has since run).
	if _, err := b.reserve(ctx, "b1", "", 0, 2, time.Now()); err != nil {
		t.Fatal(err)
	}
	js := []*backend.Job{newJob("q"), newJob("q"), newJob("q")}
	for i, j := range js {
		j.ID = backend.DerivedJobID("job-1", i)
	}
	for _, cmd := range [][]string{
		{"HSET", b.keys.BatchKeys("b1")[7], "job-1", "2;0:2:0"},
		{"SET", b.keys.QOnce("q", js[0].ID), "1", "PX", "60000"},
	} {
		if _, err := srv.Do(cmd...); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.AddToBatch(ctx, &backend.BatchAdd{BatchID: "b1", AddedBy: "job-1", Jobs: js}); err != nil {
		t.Fatal(err)
	}
	fs := mustFetch(t, b, "p1", "q", 10)
	got := map[string]int64{}
	for _, f := range fs {
		got[f.ID] = f.BatchIndex
	}
	if len(got) != 2 || got[js[1].ID] != 1 || got[js[2].ID] != 2 {
		t.Fatalf("queued %v, want %s at 1 and %s at 2", got, js[1].ID, js[2].ID)
	}
	if v := mustHGet(t, srv.Do, b.keys.BatchKeys("b1")[7], "job-1"); v != "3" {
		t.Fatalf("adds record = %q, want only the count", v)
	}
	st, err := b.BatchStatus(ctx, "b1")
	if err != nil {
		t.Fatal(err)
	}
	if st.Total != 3 {
		t.Fatalf("batch total %d, want 3", st.Total)
	}
}

// TestBytesPerJobAddedFromAJob: a job added from inside a job costs what a
// client's add of the same job costs — the queued payload, no per-job dedupe
// key (once:<id> used to add ~185 B per job for 7 days). Both adds use IDs
// of the same length, so only the add path differs.
func TestBytesPerJobAddedFromAJob(t *testing.T) {
	const n = 20_000
	ctx := context.Background()
	b, _ := openTest(t)
	per := map[string]float64{}
	// The names have the same length: a payload holds its queue, batch ID
	// and ID.
	for _, by := range []string{"", "job-1"} {
		name := "client"
		if by != "" {
			name = "in-job"
		}
		id, q := "b-"+name, "q-"+name
		if err := b.CreateBatch(ctx, &backend.BatchSpec{ID: id}); err != nil {
			t.Fatal(err)
		}
		mustEnqueue(t, b, noopJob(q)) // the queue's keys exist before measuring
		before := usedMemory(t, b)
		jobs := make([]*backend.Job, n)
		for i := range jobs {
			jobs[i] = noopJob(q)
			jobs[i].ID = backend.DerivedJobID("06H18UO7AURD4S8DPR20@"+id, i)
		}
		if err := b.AddToBatch(ctx, &backend.BatchAdd{BatchID: id, AddedBy: by, Jobs: jobs}); err != nil {
			t.Fatal(err)
		}
		per[name] = float64(usedMemory(t, b)-before) / n
		t.Logf("Redis bytes per job added (%s): %.1f", name, per[name])
	}
	if extra := per["in-job"] - per["client"]; extra > 8 {
		t.Fatalf("a job added from inside a job costs %.1f B more than a client's add, want at most 8", extra)
	}
}
