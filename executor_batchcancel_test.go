package joblot

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// cancelAsker records the batches it is asked about; only BatchesCancelled
// of the backend is used.
type cancelAsker struct {
	backend.Backend
	asked [][]string
}

func (a *cancelAsker) BatchesCancelled(_ context.Context, ids []string) (map[string]bool, error) {
	a.asked = append(a.asked, slices.Clone(ids))
	return map[string]bool{"b": true}, nil
}

// A fetch of many jobs of a few batches asks storage once, about each
// batch once, and not again while the answers are fresh.
func TestCancelCacheRefreshAsksEachBatchOnce(t *testing.T) {
	var fetched []*backend.Fetched
	for i := range 300 {
		id := []string{"a", "b", "c"}[i/100]
		if i%50 == 7 {
			id = "a" // runs interleave
		}
		fetched = append(fetched, &backend.Fetched{Job: &backend.Job{BatchID: id}})
	}
	fetched = append(fetched, &backend.Fetched{Job: &backend.Job{}}) // not in a batch
	c := newCancelCache(time.Hour)
	st := &cancelAsker{}
	c.refresh(context.Background(), st, slog.Default(), fetched)
	c.refresh(context.Background(), st, slog.Default(), fetched)
	if len(st.asked) != 1 || !slices.Equal(st.asked[0], []string{"a", "b", "c"}) {
		t.Fatalf("asked %q, want one call about [a b c]", st.asked)
	}
	if !c.cancelled("b") || c.cancelled("a") {
		t.Error("answers not kept")
	}
}
