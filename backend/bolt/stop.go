package bolt

import (
	"context"

	"github.com/joblot/joblot/backend"
)

var _ backend.Stopper = (*Backend)(nil)

// RequestStop implements backend.Stopper. The mark lives in this owner's
// memory with the process's registration, as a quiet request does.
func (b *Backend) RequestStop(ctx context.Context, id string) error {
	return b.markProcess(ctx, id, "stop", func(p *procState) { p.stopRequested = true })
}

// StopRequested implements backend.Stopper.
func (b *Backend) StopRequested(ctx context.Context, id string) (bool, error) {
	r, err := b.ProcessRequests(ctx, id)
	return r.Stop, err
}

var _ backend.ProcessRequestsReader = (*Backend)(nil)

// ProcessRequests implements backend.ProcessRequestsReader.
func (b *Backend) ProcessRequests(ctx context.Context, id string) (backend.ProcessRequests, error) {
	if err := ctx.Err(); err != nil {
		return backend.ProcessRequests{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := b.procs[id]
	if !ok {
		return backend.ProcessRequests{}, nil
	}
	return backend.ProcessRequests{Quiet: p.quietRequested, Stop: p.stopRequested}, nil
}
