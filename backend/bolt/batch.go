package bolt

import (
	"context"
	"errors"
	"time"

	"github.com/joblot/joblot/backend"
)

var errTODO = errors.New("joblot/bolt: batches not implemented yet")

type btx struct{}

func (c *txc) flushBatches() error { return nil }

func (c *txc) batchJobEvent(j *backend.Job, ev backend.BatchEvent, failed *backend.Job) (backend.Effect, bool, error) {
	return backend.Effect{}, false, nil
}

func (c *txc) callbackSucceeded(batchID string, ev backend.CallbackEvent) error { return nil }

func (b *Backend) CreateBatch(ctx context.Context, spec *backend.BatchSpec) error { return errTODO }
func (b *Backend) AddToBatch(ctx context.Context, add *backend.BatchAdd) error    { return errTODO }
func (b *Backend) CommitBatch(ctx context.Context, id string) error               { return errTODO }
func (b *Backend) BatchStatus(ctx context.Context, id string) (*backend.BatchStatus, error) {
	return nil, errTODO
}
func (b *Backend) ListBatches(ctx context.Context, opts backend.BatchListOptions) ([]*backend.BatchStatus, error) {
	return nil, errTODO
}
func (b *Backend) CancelBatch(ctx context.Context, id string) error { return errTODO }
func (b *Backend) BatchesCancelled(ctx context.Context, ids []string) (map[string]bool, error) {
	return map[string]bool{}, nil
}
func (b *Backend) DeleteBatch(ctx context.Context, id string) error { return errTODO }
func (b *Backend) ForwardCallbacks(ctx context.Context, now time.Time) (int, error) {
	return 0, nil
}
