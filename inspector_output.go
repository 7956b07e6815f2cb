package joblot

import (
	"context"

	"github.com/joblot/joblot/backend"
)

// JobOutput returns what job id of queue recorded (SetOutput,
// SetProgress): its progress while it runs, its output once it
// succeeded. It returns an error wrapping backend.ErrNoOutput when the
// store holds nothing for it, and ErrOutputUnsupported when the backend
// keeps no output.
func (i *Inspector) JobOutput(ctx context.Context, queue, id string) (*backend.JobOutput, error) {
	store, ok := i.backend.(backend.OutputStore)
	if !ok {
		return nil, ErrOutputUnsupported
	}
	return store.JobOutput(ctx, queue, id)
}
