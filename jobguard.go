package joblot

import (
	"fmt"

	"github.com/joblot/joblot/backend"
)

// unrunnable reports why a fetched job must not run at all, or nil: its
// payload did not decode, or it is over the payload limit
// (ClientConfig.MaxPayloadBytes of the server's Client). Enqueue checks
// the limit, but a payload can reach the store by other ways (written
// straight into it, by another program, by a client with a higher limit);
// such a job goes dead with the reason instead of running.
//
// The limit applies to the job without the failure record a server adds
// to it (error message and backtrace), and, separately, to that record: a
// job enqueued just under the limit must not die of its own failure data.
func (e *executor) unrunnable(f *backend.Fetched) error {
	if f.Malformed != nil {
		return fmt.Errorf("malformed payload: %w", f.Malformed)
	}
	limit := e.client.cfg.MaxPayloadBytes
	failure := len(f.ErrorMessage) + len(f.Backtrace)
	if own := len(f.Raw) - failure; own > limit || failure > limit {
		return fmt.Errorf("%w: the stored job is %d bytes (%d of them its last error), over the limit of %d; it was not run",
			ErrPayloadTooLarge, len(f.Raw), failure, limit)
	}
	return nil
}

// observe tells the configured observer about a finished job. It runs
// outside the job's recover and hands the observer the job's kind and
// queue, which come from stored data: a panic there is logged, never
// allowed to take the worker process down.
func (e *executor) observe(f *backend.Fetched, res backend.Result) {
	defer func() {
		if r := recover(); r != nil {
			e.logger.Error("joblot: the job observer panicked; the job's outcome is recorded all the same",
				"job_id", f.ID, "panic", fmt.Sprint(r))
		}
	}()
	e.cfg.Observer.JobDone(f.Kind, f.Queue, res.Outcome, res.Duration)
}
