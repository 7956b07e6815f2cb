package joblot

import (
	"context"
	"time"

	"github.com/joblot/joblot/backend"
)

// forwarder enqueues leftover batch callbacks and expires uncommitted
// batches, every ForwardInterval.
type forwarder struct {
	backend backend.Backend
	every   time.Duration
}

func (forwarder) name() string              { return "forward callbacks" }
func (f forwarder) interval() time.Duration { return f.every }

func (f forwarder) run(ctx context.Context, now time.Time) error {
	_, err := f.backend.ForwardCallbacks(ctx, now)
	return err
}
