package redis

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// Tests of batch_ack.lua's fast path: a call whose events are all
// successes (not manual) on jobs found pending, failing or succeeded.

// reservedBatch creates and commits batch id of n pending jobs, reserving
// the indexes as batch_add.lua does without queueing payloads (the
// counters are all these tests need of them).
func reservedBatch(t testing.TB, b *Backend, id string, n int64) {
	t.Helper()
	ctx := context.Background()
	if err := b.CreateBatch(ctx, &backend.BatchSpec{ID: id}); err != nil {
		t.Fatal(err)
	}
	meta := b.keys.BatchKeys(id)[0]
	if err := b.c.Do(ctx, b.c.B().Hset().Key(meta).FieldValue().FieldValue("total", itoa(n)).FieldValue("pending", itoa(n)).Build()).Error(); err != nil {
		t.Fatal(err)
	}
	if err := b.CommitBatch(ctx, id); err != nil {
		t.Fatal(err)
	}
}

// pageCount reads the settled count page p of batch id holds.
func pageCount(t *testing.T, b *Backend, id string, p int64) int64 {
	t.Helper()
	v, err := b.c.Do(context.Background(), b.c.B().Arbitrary("BITFIELD").Keys(pageKey(b, id, p)).Args("GET", "u16", strconv.Itoa(2*backend.BatchPageSize)).Build()).AsIntSlice()
	if err != nil {
		t.Fatal(err)
	}
	return v[0]
}

func succeeded(id string, indexes ...int64) []batchJobEvent {
	out := make([]batchJobEvent, len(indexes))
	for i, x := range indexes {
		out[i] = batchJobEvent{batch: id, index: x, event: backend.EventSucceeded}
	}
	return out
}

func applyEvents(t *testing.T, b *Backend, events []batchJobEvent) batchOutcome {
	t.Helper()
	out, err := b.applyBatchEvents(context.Background(), events, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func wantCounts(t *testing.T, b *Backend, id string, pending, failing, succ, dead int64) {
	t.Helper()
	st, err := b.BatchStatus(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Pending != pending || st.Failing != failing || st.Succeeded != succ || st.Dead != dead {
		t.Errorf("pending/failing/succeeded/dead = %d/%d/%d/%d, want %d/%d/%d/%d", st.Pending, st.Failing, st.Succeeded, st.Dead, pending, failing, succ, dead)
	}
}

// The same job twice in one all-success call, on two pages, one of them
// failing before: each job counts once, from its own old state, and its
// page counts it settled once.
func TestBatchAckFastDuplicates(t *testing.T) {
	b, _ := openTest(t)
	id := "dups"
	const n = backend.BatchPageSize + 10
	reservedBatch(t, b, id, n)
	second := int64(backend.BatchPageSize + 1)
	applyEvents(t, b, []batchJobEvent{{batch: id, index: second, event: backend.EventFailed, fail: &batchFailure{fingerprint: "fp", kind: "K", class: "E", message: "m", jobID: "j"}}})
	wantCounts(t, b, id, n-1, 1, 0, 0)
	out := applyEvents(t, b, succeeded(id, 0, 1, 0, second, 2, second, 1))
	if string(out.masks) != string(make([]byte, 7)) {
		t.Errorf("masks = %v, want none may write", out.masks)
	}
	wantCounts(t, b, id, n-4, 0, 4, 0)
	if c0, c1 := pageCount(t, b, id, 0), pageCount(t, b, id, 1); c0 != 3 || c1 != 1 {
		t.Errorf("page counts = %d, %d, want 3, 1", c0, c1)
	}
	for _, x := range []int64{0, 1, 2, second} {
		if s := jobState(t, b, id, x); s != backend.StateSucceeded {
			t.Errorf("job %d reads %v, want S", x, s)
		}
	}
}

// A success for a dead job, in a call of successes for pending ones, is
// stale (it is not a manual retry): the job stays dead and counted so,
// and the others count.
func TestBatchAckFastDeadJob(t *testing.T) {
	b, _ := openTest(t)
	id := "dead"
	const n = 20
	reservedBatch(t, b, id, n)
	applyEvents(t, b, []batchJobEvent{{batch: id, index: 5, event: backend.EventDied, fail: &batchFailure{fingerprint: "fp", kind: "K", class: "E", message: "m", jobID: "j"}}})
	wantCounts(t, b, id, n-1, 0, 0, 1)
	out := applyEvents(t, b, succeeded(id, 4, 5, 6, 5))
	if string(out.masks) != string(make([]byte, 4)) {
		t.Errorf("masks = %v, want none may write", out.masks)
	}
	wantCounts(t, b, id, n-3, 0, 2, 1)
	if s := jobState(t, b, id, 5); s != backend.StateEnded {
		t.Errorf("dead job reads %v after a stale success, want X", s)
	}
	if c := pageCount(t, b, id, 0); c != 2 {
		t.Errorf("page count = %d, want 2 (the dead job is not settled)", c)
	}
}

// A page settles in an all-success call and is dropped; later successes
// for its jobs (stale duplicates, also with a live page's job in the same
// call) move nothing and do not bring the page back.
func TestBatchAckFastPageDropped(t *testing.T) {
	b, _ := openTest(t)
	id := "drop"
	const n = backend.BatchPageSize + 10
	reservedBatch(t, b, id, n)
	var first []int64
	for i := int64(0); i < backend.BatchPageSize-2; i++ {
		first = append(first, i)
	}
	applyEvents(t, b, succeeded(id, first...))
	if !exists(t, b, pageKey(b, id, 0)) {
		t.Fatal("page 0 dropped with two jobs unsettled")
	}
	// The last two, one twice: the page settles.
	last := int64(backend.BatchPageSize - 1)
	applyEvents(t, b, succeeded(id, last, last-1, last))
	if exists(t, b, pageKey(b, id, 0)) {
		t.Errorf("page 0 kept after all its jobs succeeded")
	}
	if s := jobState(t, b, id, 3); s != backend.DroppedPageState {
		t.Errorf("job 3 reads %v, want the dropped page's state", s)
	}
	wantCounts(t, b, id, 10, 0, backend.BatchPageSize, 0)
	// Stale successes on the dropped page, with a new one on page 1.
	out := applyEvents(t, b, succeeded(id, 7, last, backend.BatchPageSize))
	if string(out.masks) != string(make([]byte, 3)) {
		t.Errorf("masks = %v, want none may write", out.masks)
	}
	wantCounts(t, b, id, 9, 0, backend.BatchPageSize+1, 0)
	if exists(t, b, pageKey(b, id, 0)) {
		t.Errorf("stale successes brought dropped page 0 back")
	}
	if c := pageCount(t, b, id, 1); c != 1 {
		t.Errorf("page 1 count = %d, want 1", c)
	}
	// Only stale successes: still nothing.
	applyEvents(t, b, succeeded(id, 0, 1))
	wantCounts(t, b, id, 9, 0, backend.BatchPageSize+1, 0)
	if exists(t, b, pageKey(b, id, 0)) {
		t.Errorf("stale successes brought dropped page 0 back")
	}
}

// The complete callback fires on the fast path's last success.
func TestBatchAckFastCompletes(t *testing.T) {
	b, _ := openTest(t)
	id := "fires"
	reservedBatch(t, b, id, 3)
	out := applyEvents(t, b, succeeded(id, 0, 1))
	if len(out.fired) != 0 {
		t.Fatalf("fired %v with a job pending", out.fired)
	}
	out = applyEvents(t, b, succeeded(id, 2, 2))
	if len(out.fired) != 1 {
		t.Errorf("fired %v, want the batch's callbacks", out.fired)
	}
	st, err := b.BatchStatus(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if st.CompleteAt.IsZero() || st.SuccessAt.IsZero() || st.Succeeded != 3 {
		t.Errorf("status: %+v", st)
	}
}
