package joblot

import (
	"context"
	"errors"
	"fmt"

	"github.com/joblot/joblot/backend"
)

// ProcessJobs returns the jobs process id holds in flight, at most limit
// (backend.DefaultProcessJobsLimit when limit <= 0), sorted by queue then
// ID; More says the process holds more. A process that holds none, or is
// unknown, has none. It fails with an error wrapping errors.ErrUnsupported
// when the store cannot list them (it does not implement
// backend.ProcessJobsReader).
func (i *Inspector) ProcessJobs(ctx context.Context, id string, limit int) (backend.ProcessJobsResult, error) {
	r, ok := i.backend.(backend.ProcessJobsReader)
	if !ok {
		return backend.ProcessJobsResult{}, fmt.Errorf("joblot: process jobs: this store cannot list them: %w", errors.ErrUnsupported)
	}
	res, err := r.ProcessJobs(ctx, backend.ProcessJobsParams{Proc: id, Limit: limit})
	if err != nil {
		return backend.ProcessJobsResult{}, fmt.Errorf("joblot: jobs of process %s: %w", id, err)
	}
	return res, nil
}
