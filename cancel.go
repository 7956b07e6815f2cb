package joblot

import (
	"context"
	"fmt"

	"github.com/joblot/joblot/backend"
)

// CancelResult says what CancelJob did with a job.
type CancelResult = backend.CancelResult

// The results of CancelJob.
const (
	// CancelRemoved: the job was scheduled or waiting for a retry, and is
	// removed.
	CancelRemoved = backend.CancelRemoved
	// CancelQueued: the job is marked in its queue and is dropped when it
	// reaches the head of the queue, without running.
	CancelQueued = backend.CancelQueued
	// CancelRunning: the job is running (or claimed by a server); its
	// server cancels the attempt's context with cause ErrJobCancelled.
	CancelRunning = backend.CancelRunning
)

// CancelJob cancels the job id of queue so that it does not run (again):
// a scheduled or retrying job is removed, a queued job is dropped when it
// reaches the head of its queue, and a running job's context is cancelled
// with cause ErrJobCancelled on the server that runs it; unless that
// attempt returns success first, it ends cancelled and is not retried.
// A cancelled job counts in Stats.Cancelled, and as cancelled in its
// batch, which then completes but never succeeds.
//
// The cost does not depend on the queue's length: the queue is not
// searched, so an id it does not hold is also reported CancelQueued while
// it has waiting jobs (the mark changes nothing and goes when the queue
// runs empty). It returns an error wrapping ErrJobNotFound when the job is
// not running, scheduled or retrying and the queue has no waiting job, for
// instance once it finished. On Redis, finding a scheduled or retrying job
// scans those two sets of the queue (a bounded step per command).
func (c *Client) CancelJob(ctx context.Context, queue, id string) (CancelResult, error) {
	r, err := c.backend.CancelJob(ctx, queue, id)
	if err != nil {
		return 0, fmt.Errorf("joblot: cancel job %s: %w", id, err)
	}
	return r, nil
}

// CancelJob cancels one job; see Client.CancelJob.
func (i *Inspector) CancelJob(ctx context.Context, queue, id string) (CancelResult, error) {
	r, err := i.backend.CancelJob(ctx, queue, id)
	if err != nil {
		return 0, fmt.Errorf("joblot: cancel job %s: %w", id, err)
	}
	return r, nil
}
