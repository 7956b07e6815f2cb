package redis

import (
	"context"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// One batch_ack call with the cases the script's fast path leaves out: a
// job index beyond the batch's total (written like a job outside any
// batch, state untouched) and the same index twice (the second, refused
// move is put back).
func TestBatchAckFilteredIndexAndRepeatedJob(t *testing.T) {
	ctx := context.Background()
	b, _ := openTest(t)
	id := "acks"
	if err := b.CreateBatch(ctx, &backend.BatchSpec{ID: id}); err != nil {
		t.Fatal(err)
	}
	if err := b.AddToBatch(ctx, &backend.BatchAdd{BatchID: id, Jobs: []*backend.Job{noopJob("q"), noopJob("q")}}); err != nil {
		t.Fatal(err)
	}
	if err := b.CommitBatch(ctx, id); err != nil {
		t.Fatal(err)
	}
	failure := func(index int64, ev backend.BatchEvent) batchJobEvent {
		return batchJobEvent{batch: id, index: index, event: ev, fail: &batchFailure{fingerprint: "fp", kind: "K", class: "E", message: "boom", jobID: "j"}}
	}
	events := []batchJobEvent{
		{batch: id, index: 0, event: backend.EventSucceeded},
		failure(0, backend.EventFailed), // a stale duplicate: S does not go back to F
		failure(99, backend.EventDied),  // not a job of this batch
		failure(1, backend.EventDied),
	}
	out, err := b.applyBatchEvents(ctx, events, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0, 0, 3, 2}; string(out.masks) != string(want) {
		t.Errorf("masks = %v, want %v", out.masks, want)
	}
	st, err := b.BatchStatus(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Succeeded != 1 || st.Dead != 1 || st.Pending != 0 || st.Failing != 0 || st.DeathAt.IsZero() || st.CompleteAt.IsZero() {
		t.Errorf("status: %+v", st)
	}
	if len(st.ErrorGroups) != 1 || st.ErrorGroups[0].Count != 1 {
		t.Errorf("error groups: %+v (only index 1's death counts)", st.ErrorGroups)
	}
	if states := []backend.JobState{jobState(t, b, id, 0), jobState(t, b, id, 1)}; states[0] != backend.StateSucceeded || states[1] != backend.StateEnded {
		t.Errorf("job states = %v, want [%d %d]", states, backend.StateSucceeded, backend.StateEnded)
	}
}
