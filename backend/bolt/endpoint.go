package bolt

import (
	"context"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/remote"
)

// serveLocal starts the local endpoint. It is best effort: a store whose
// socket cannot be created (a path too long for a unix socket, a read-only
// directory) still works, only without live inspection, and says so.
func (b *Backend) serveLocal() {
	l, err := remote.Listen(b.path)
	if err != nil {
		b.log.Warn("joblot: local endpoint unavailable; the CLI cannot inspect this store while it runs", "path", b.path, "err", err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.endpointStop, b.endpointDone = cancel, make(chan struct{})
	go func() {
		defer close(b.endpointDone)
		if err := remote.Serve(ctx, l, b); err != nil && ctx.Err() == nil {
			b.log.Warn("joblot: local endpoint stopped", "err", err)
		}
	}()
}

// Memory implements backend.MemoryReporter: the store's footprint is its
// file; there is no configured limit.
func (b *Backend) Memory(ctx context.Context) (backend.MemoryInfo, error) {
	size, err := b.FileSize()
	return backend.MemoryInfo{Used: size}, err
}
