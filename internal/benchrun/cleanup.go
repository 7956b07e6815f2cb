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
		f := backend.JobFilter{Set: set, Queue: r.cfg.Queue, Kind: JobKind, Limit: 1000}
		// Repeat until nothing is left: a listing cursor that counts
		// offsets skips entries when the pages before it are deleted.
		for {
			n, err := insp.DeleteJobs(ctx, f)
			if err != nil {
				return fmt.Errorf("bench: cleanup: delete %s jobs: %w", set, err)
			}
			if n == 0 {
				break
			}
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
