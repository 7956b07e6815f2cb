package remote

import (
	"context"
	"fmt"
	"time"

	"github.com/joblot/joblot/backend"
)

// The backend.Backend methods of Client, each one call to the owner (see
// Server.routes for the other end). Their doc is backend.Backend's.

// Enqueue implements backend.Backend. Jobs more than the owner accepts in
// one request are sent in several (see callSplit), as a backend stores a
// large call in chunks.
func (c *Client) Enqueue(ctx context.Context, jobs []*backend.Job) (backend.EnqueueResult, error) {
	var res backend.EnqueueResult
	err := callSplit(ctx, c, "Enqueue", jobs, len(jobs),
		func(lo, hi int) []*backend.Job { return jobs[lo:hi] },
		func(i int) any { return jobs[i] },
		func(lo, _ int, part backend.EnqueueResult) {
			res.Skipped = append(res.Skipped, part.Offset(lo).Skipped...)
		})
	return res, err
}

// Fetch implements backend.Backend.
func (c *Client) Fetch(ctx context.Context, p backend.FetchParams) (backend.FetchResult, error) {
	wire, err := call[backend.FetchParams, []*wireFetched](ctx, c, "Fetch", p)
	if err != nil {
		return backend.FetchResult{}, err
	}
	jobs := make([]*backend.Fetched, len(wire))
	for i, wf := range wire {
		jobs[i] = fromWireFetched(wf)
	}
	return backend.FetchResult{Jobs: jobs}, nil
}

// Complete implements backend.Backend. Results more than the owner accepts
// in one request are sent in several (see callSplit); each result is
// recorded on its own.
func (c *Client) Complete(ctx context.Context, proc string, results []backend.Result) error {
	wire := make([]*wireResult, len(results))
	for i, r := range results {
		wire[i] = &wireResult{
			Fetched: toWireFetched(r.Fetched), Outcome: r.Outcome, Job: r.Job,
			RetryAt: r.RetryAt, Duration: r.Duration, Output: r.Output,
		}
	}
	return callSplit(ctx, c, "Complete", completeParams{proc, wire}, len(wire),
		func(lo, hi int) completeParams { return completeParams{proc, wire[lo:hi]} },
		func(i int) any { return wire[i] },
		func(int, int, empty) {})
}

// Heartbeat implements backend.Backend.
func (c *Client) Heartbeat(ctx context.Context, info backend.ProcessInfo, ttl time.Duration) error {
	_, err := call[pair[backend.ProcessInfo, time.Duration], empty](ctx, c, "Heartbeat", pair[backend.ProcessInfo, time.Duration]{info, ttl})
	return err
}

var _ backend.Quieter = (*Client)(nil)

// RequestQuiet implements backend.Quieter. It fails with an error wrapping
// errors.ErrUnsupported when the served backend cannot quiet processes.
func (c *Client) RequestQuiet(ctx context.Context, id string) error {
	_, err := call[string, empty](ctx, c, "RequestQuiet", id)
	return err
}

// QuietRequested implements backend.Quieter (errors.ErrUnsupported as
// RequestQuiet).
func (c *Client) QuietRequested(ctx context.Context, id string) (bool, error) {
	return call[string, bool](ctx, c, "QuietRequested", id)
}

var _ backend.Stopper = (*Client)(nil)

// RequestStop implements backend.Stopper. It fails with an error wrapping
// errors.ErrUnsupported when the served backend cannot stop processes.
func (c *Client) RequestStop(ctx context.Context, id string) error {
	_, err := call[string, empty](ctx, c, "RequestStop", id)
	return err
}

// StopRequested implements backend.Stopper (errors.ErrUnsupported as
// RequestStop).
func (c *Client) StopRequested(ctx context.Context, id string) (bool, error) {
	return call[string, bool](ctx, c, "StopRequested", id)
}

var _ backend.ProcessRequestsReader = (*Client)(nil)

// ProcessRequests implements backend.ProcessRequestsReader
// (errors.ErrUnsupported when the served backend cannot read both at once).
func (c *Client) ProcessRequests(ctx context.Context, id string) (backend.ProcessRequests, error) {
	return call[string, backend.ProcessRequests](ctx, c, "ProcessRequests", id)
}

var _ backend.ProcessJobsReader = (*Client)(nil)

// ProcessJobs implements backend.ProcessJobsReader. It fails with an error
// wrapping errors.ErrUnsupported when the served backend cannot list them.
func (c *Client) ProcessJobs(ctx context.Context, p backend.ProcessJobsParams) (backend.ProcessJobsResult, error) {
	return call[backend.ProcessJobsParams, backend.ProcessJobsResult](ctx, c, "ProcessJobs", p)
}

// Deregister implements backend.Backend.
func (c *Client) Deregister(ctx context.Context, proc string) error {
	_, err := call[string, empty](ctx, c, "Deregister", proc)
	return err
}

// MoveDue implements backend.Backend.
func (c *Client) MoveDue(ctx context.Context, now time.Time, limit int) (int, error) {
	return call[pair[time.Time, int], int](ctx, c, "MoveDue", pair[time.Time, int]{now, limit})
}

// RecoverOrphans implements backend.Backend.
func (c *Client) RecoverOrphans(ctx context.Context, now time.Time) (int, error) {
	return call[time.Time, int](ctx, c, "RecoverOrphans", now)
}

// TrimDead implements backend.Backend.
func (c *Client) TrimDead(ctx context.Context, now time.Time) (int, error) {
	return call[time.Time, int](ctx, c, "TrimDead", now)
}

// Lease implements backend.Backend.
func (c *Client) Lease(ctx context.Context, p backend.LeaseParams) (backend.LeaseResult, error) {
	return call[backend.LeaseParams, backend.LeaseResult](ctx, c, "Lease", p)
}

// Stats implements backend.Backend.
func (c *Client) Stats(ctx context.Context, now time.Time) (*backend.Stats, error) {
	return nonNil(call[time.Time, *backend.Stats](ctx, c, "Stats", now))
}

// ErrorGroups implements backend.Backend.
func (c *Client) ErrorGroups(ctx context.Context, f backend.ErrorGroupFilter, now time.Time) ([]backend.ErrorGroupStat, error) {
	return call[pair[backend.ErrorGroupFilter, time.Time], []backend.ErrorGroupStat](ctx, c, "ErrorGroups", pair[backend.ErrorGroupFilter, time.Time]{f, now})
}

// Throughput implements backend.Backend.
func (c *Client) Throughput(ctx context.Context, p backend.ThroughputParams) (backend.ThroughputResult, error) {
	return call[backend.ThroughputParams, backend.ThroughputResult](ctx, c, "Throughput", p)
}

// ListJobs implements backend.Backend.
func (c *Client) ListJobs(ctx context.Context, f backend.JobFilter) (*backend.JobPage, error) {
	return nonNil(call[backend.JobFilter, *backend.JobPage](ctx, c, "ListJobs", f))
}

// RetryJobs implements backend.Backend.
func (c *Client) RetryJobs(ctx context.Context, p backend.RetryJobsParams) (backend.RetryJobsResult, error) {
	return call[backend.RetryJobsParams, backend.RetryJobsResult](ctx, c, "RetryJobs", p)
}

// DeleteJobs implements backend.Backend.
func (c *Client) DeleteJobs(ctx context.Context, p backend.DeleteJobsParams) (backend.DeleteJobsResult, error) {
	return call[backend.DeleteJobsParams, backend.DeleteJobsResult](ctx, c, "DeleteJobs", p)
}

// CreateBatch implements backend.Backend.
func (c *Client) CreateBatch(ctx context.Context, spec *backend.BatchSpec) error {
	_, err := call[*backend.BatchSpec, empty](ctx, c, "CreateBatch", spec)
	return err
}

// AddToBatch implements backend.Backend. The BatchID and BatchIndex the
// owner assigned are copied into add.Jobs, as an in-process call would leave
// them. Jobs more than the owner accepts in one request are added in
// several (see callSplit), each with its own Seq, as a caller adding in
// chunks would.
func (c *Client) AddToBatch(ctx context.Context, add *backend.BatchAdd) error {
	if add == nil {
		_, err := call[*backend.BatchAdd, []assigned](ctx, c, "AddToBatch", add)
		return err
	}
	return callSplit(ctx, c, "AddToBatch", add, len(add.Jobs),
		func(lo, hi int) *backend.BatchAdd {
			part := *add
			part.Seq, part.Jobs = add.Seq+lo, add.Jobs[lo:hi]
			return &part
		},
		func(i int) any { return add.Jobs[i] },
		func(lo, hi int, got []assigned) {
			if len(got) != hi-lo {
				return
			}
			for i, j := range add.Jobs[lo:hi] {
				if j != nil {
					j.BatchID, j.BatchIndex = got[i].BatchID, got[i].BatchIndex
				}
			}
		})
}

// CommitBatch implements backend.Backend.
func (c *Client) CommitBatch(ctx context.Context, id string) error {
	_, err := call[string, empty](ctx, c, "CommitBatch", id)
	return err
}

// BatchStatus implements backend.Backend.
func (c *Client) BatchStatus(ctx context.Context, id string) (*backend.BatchStatus, error) {
	return nonNil(call[string, *backend.BatchStatus](ctx, c, "BatchStatus", id))
}

// ListBatches implements backend.Backend.
func (c *Client) ListBatches(ctx context.Context, opts backend.BatchListOptions) ([]*backend.BatchStatus, error) {
	return call[backend.BatchListOptions, []*backend.BatchStatus](ctx, c, "ListBatches", opts)
}

// CancelBatch implements backend.Backend.
func (c *Client) CancelBatch(ctx context.Context, id string) error {
	_, err := call[string, empty](ctx, c, "CancelBatch", id)
	return err
}

// BatchesCancelled implements backend.Backend.
func (c *Client) BatchesCancelled(ctx context.Context, ids []string) (map[string]bool, error) {
	return call[[]string, map[string]bool](ctx, c, "BatchesCancelled", ids)
}

// CancelJob implements backend.Backend. The owner cancels a job in flight
// in its own process, where its servers run.
func (c *Client) CancelJob(ctx context.Context, queue, id string) (backend.CancelResult, error) {
	return call[pair[string, string], backend.CancelResult](ctx, c, "CancelJob", pair[string, string]{queue, id})
}

// FindJob implements backend.Backend.
func (c *Client) FindJob(ctx context.Context, queue, id string) (backend.FindJobResult, error) {
	res, err := call[pair[string, string], backend.FindJobResult](ctx, c, "FindJob", pair[string, string]{queue, id})
	if err == nil && res.Job == nil {
		return backend.FindJobResult{}, fmt.Errorf("joblot: remote FindJob: the owner sent no job")
	}
	return res, err
}

// SetLimits implements backend.Backend.
func (c *Client) SetLimits(ctx context.Context, p backend.SetLimitsParams) (backend.SetLimitsResult, error) {
	return call[backend.SetLimitsParams, backend.SetLimitsResult](ctx, c, "SetLimits", p)
}

// PauseQueue implements backend.Backend.
func (c *Client) PauseQueue(ctx context.Context, p backend.PauseQueueParams) (backend.PauseQueueResult, error) {
	return call[backend.PauseQueueParams, backend.PauseQueueResult](ctx, c, "PauseQueue", p)
}

// ClearQueue implements backend.Backend.
func (c *Client) ClearQueue(ctx context.Context, queue string) (int, error) {
	return call[string, int](ctx, c, "ClearQueue", queue)
}

// VerifyBatch implements backend.Backend.
func (c *Client) VerifyBatch(ctx context.Context, p backend.VerifyBatchParams) (backend.VerifyBatchResult, error) {
	return call[backend.VerifyBatchParams, backend.VerifyBatchResult](ctx, c, "VerifyBatch", p)
}

// DeleteBatch implements backend.Backend.
func (c *Client) DeleteBatch(ctx context.Context, id string) error {
	_, err := call[string, empty](ctx, c, "DeleteBatch", id)
	return err
}

// ForwardCallbacks implements backend.Backend.
func (c *Client) ForwardCallbacks(ctx context.Context, now time.Time) (int, error) {
	return call[time.Time, int](ctx, c, "ForwardCallbacks", now)
}

// nonNil returns a result the owner answered with null (it never should)
// as an error, so a caller that checked the error may use the result.
func nonNil[R any](res *R, err error) (*R, error) {
	if err == nil && res == nil {
		return nil, fmt.Errorf("joblot: remote: the owner answered with no result")
	}
	return res, err
}

var _ backend.OutputStore = (*Client)(nil)

// SetProgress implements backend.OutputStore. It fails with an error
// wrapping errors.ErrUnsupported when the served backend keeps no output.
func (c *Client) SetProgress(ctx context.Context, p backend.SetProgressParams) (backend.SetProgressResult, error) {
	return call[backend.SetProgressParams, backend.SetProgressResult](ctx, c, "SetProgress", p)
}

// JobOutput implements backend.OutputStore (errors.ErrUnsupported as
// SetProgress).
func (c *Client) JobOutput(ctx context.Context, queue, id string) (*backend.JobOutput, error) {
	return call[pair[string, string], *backend.JobOutput](ctx, c, "JobOutput", pair[string, string]{queue, id})
}
