package benchrun

import (
	"context"
	"fmt"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
)

// cleanup removes what the run left: its jobs in the retry and dead sets,
// then its batches' state.
func (r *run) cleanup(ctx context.Context) error {
	insp := joblot.NewInspector(r.backend)
	for _, set := range []backend.JobSet{backend.SetRetry, backend.SetDead} {
		f := backend.JobFilter{Set: set, Queue: r.cfg.Queue, Kind: JobKind}
		if _, err := insp.DeleteJobs(ctx, f); err != nil {
			return fmt.Errorf("bench: cleanup: delete %s jobs: %w", set, err)
		}
	}
	for _, id := range r.batchIDs {
		if id == "" {
			continue
		}
		if err := r.backend.DeleteBatch(ctx, id); err != nil {
			return fmt.Errorf("bench: cleanup: delete batch %s: %w", id, err)
		}
	}
	return nil
}
