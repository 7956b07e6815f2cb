package remote_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// AddToBatch through the socket leaves the caller's jobs as the same call
// in process does (the backend assigns BatchID and BatchIndex), and the
// batch errors callers branch on survive.
func TestAddToBatchLikeInProcess(t *testing.T) {
	ctx := context.Background()
	direct := openStore(t, filepath.Join(shortDir(t), "joblot.db"), backend.Limits{})
	c := serve(t, backend.Limits{}).dial(t)

	run := func(b backend.Backend) []*backend.Job {
		spec := &backend.BatchSpec{ID: "b1", Description: "d", CreatedAt: time.Now(), CommitDeadline: time.Now().Add(time.Hour)}
		if err := b.CreateBatch(ctx, spec); err != nil {
			t.Fatalf("CreateBatch: %v", err)
		}
		var jobs []*backend.Job
		for range 2 {
			chunk := []*backend.Job{
				{ID: backend.NewJobID(), Kind: "k", Queue: "q", Args: []byte("{}"), CreatedAt: time.Now()},
				{ID: backend.NewJobID(), Kind: "k", Queue: "q", Args: []byte("{}"), CreatedAt: time.Now()},
			}
			if err := b.AddToBatch(ctx, &backend.BatchAdd{BatchID: "b1", Jobs: chunk}); err != nil {
				t.Fatalf("AddToBatch: %v", err)
			}
			jobs = append(jobs, chunk...)
		}
		return jobs
	}
	want, got := run(direct), run(c)
	for i := range want {
		if got[i].BatchID != want[i].BatchID || got[i].BatchIndex != want[i].BatchIndex {
			t.Errorf("job %d after remote AddToBatch: BatchID %q BatchIndex %d; in process: %q %d",
				i, got[i].BatchID, got[i].BatchIndex, want[i].BatchID, want[i].BatchIndex)
		}
	}

	fr, err := c.Fetch(ctx, backend.FetchParams{Proc: "p1", Queues: []string{"q"}, Max: 10})
	fs := fr.Jobs
	if err != nil || len(fs) != 4 {
		t.Fatalf("Fetch = %d jobs, %v; want 4", len(fs), err)
	}
	for i, f := range fs {
		if f.BatchID != "b1" || f.BatchIndex != int64(i) {
			t.Errorf("fetched job %d: BatchID %q BatchIndex %d, want b1 and %d", i, f.BatchID, f.BatchIndex, i)
		}
	}
	if err := c.CancelBatch(ctx, "b1"); err != nil {
		t.Fatalf("CancelBatch: %v", err)
	}
	late := &backend.BatchAdd{BatchID: "b1", Jobs: []*backend.Job{{ID: backend.NewJobID(), Kind: "k", Queue: "q"}}}
	if err := c.AddToBatch(ctx, late); !errors.Is(err, backend.ErrBatchFinished) {
		t.Fatalf("AddToBatch to a cancelled batch = %v, want ErrBatchFinished", err)
	}
	st, err := c.BatchStatus(ctx, "b1")
	if err != nil || st.State != backend.BatchCancelled || st.Total != 4 || st.CancelledAt.IsZero() {
		t.Fatalf("BatchStatus = %+v, %v; want cancelled with 4 jobs", st, err)
	}
}
