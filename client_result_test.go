package joblot

import (
	"context"
	"testing"

	"github.com/joblot/joblot/backend"
)

// dupStore reports every job whose args are greetArgs{Name: "dup"} as a duplicate
// of "existing", as a backend holding a unique lock would.
type dupStore struct {
	backend.Backend
}

func (s dupStore) Enqueue(ctx context.Context, jobs []*backend.Job) (backend.EnqueueResult, error) {
	var res backend.EnqueueResult
	var keep []*backend.Job
	for i, j := range jobs {
		if string(j.Args) == `{"name":"dup","n":0}` {
			res.Skipped = append(res.Skipped, backend.Skipped{Index: i, ExistingID: "existing"})
			continue
		}
		keep = append(keep, j)
	}
	if _, err := s.Backend.Enqueue(ctx, keep); err != nil {
		return backend.EnqueueResult{}, err
	}
	return res, nil
}

// TestEnqueueResultSaysDuplicate: the client maps the backend's per-job
// result to each job, across EnqueueMany's chunks.
func TestEnqueueResultSaysDuplicate(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		ctx := context.Background()
		client := NewClient(dupStore{b}, ClientConfig{EnqueueChunk: 2})
		res, err := client.Enqueue(ctx, greetArgs{Name: "dup"}, nil)
		if err != nil || !res.SkippedAsDuplicate || res.ID != "existing" {
			t.Fatalf("Enqueue of a duplicate = %+v, %v; want skipped as a duplicate of existing", res, err)
		}
		names := []string{"a", "b", "c", "dup", "d"}
		params := make([]EnqueueParams, len(names))
		for i, n := range names {
			params[i] = EnqueueParams{Args: greetArgs{Name: n}}
		}
		out, err := client.EnqueueMany(ctx, params)
		if err != nil || len(out) != len(names) {
			t.Fatalf("EnqueueMany = %d results, %v", len(out), err)
		}
		for i, r := range out {
			if dup := names[i] == "dup"; r.SkippedAsDuplicate != dup || (dup && r.ID != "existing") || (!dup && r.ID == "") {
				t.Fatalf("result %d (%s) = %+v", i, names[i], r)
			}
		}
		st, err := b.Stats(ctx, client.cfg.Now())
		if err != nil {
			t.Fatal(err)
		}
		if q, _ := st.Queue("default"); q.Size != 4 {
			t.Fatalf("queue holds %d jobs, want the 4 that were not duplicates", q.Size)
		}
	})
}
