package remote

import (
	"context"
	"fmt"
	"time"

	"github.com/joblot/joblot/backend"
)

// The backend.Backend methods of Client, each one call to the owner. Their
// doc is backend.Backend's.

// Enqueue implements backend.Backend. Jobs more than the owner accepts in
// one request are sent in several (see callSplit), as a backend stores a
// large call in chunks.
func (c *Client) Enqueue(ctx context.Context, jobs []*backend.Job) (backend.EnqueueResult, error) {
	var res backend.EnqueueResult
	err := callSplit(ctx, c, "Enqueue", len(jobs),
		func(lo, hi int) any { return enqueueReq{Jobs: jobs[lo:hi]} },
		func(i int) any { return jobs[i] },
		func(lo, _ int, resp *enqueueResp) {
			part := backend.EnqueueResult{Skipped: resp.Skipped}.Offset(lo)
			res.Skipped = append(res.Skipped, part.Skipped...)
		})
	return res, err
}

// Fetch implements backend.Backend.
func (c *Client) Fetch(ctx context.Context, proc string, queues []string, max int) ([]*backend.Fetched, error) {
	var resp fetchResp
	if err := c.call(ctx, "Fetch", fetchReq{Proc: proc, Queues: queues, Max: max}, &resp); err != nil {
		return nil, err
	}
	fs := make([]*backend.Fetched, len(resp.Jobs))
	for i, wf := range resp.Jobs {
		fs[i] = fromWireFetched(wf)
	}
	return fs, nil
}

// Complete implements backend.Backend. Results more than the owner accepts
// in one request are sent in several (see callSplit); each result is
// recorded on its own.
func (c *Client) Complete(ctx context.Context, proc string, results []backend.Result) error {
	wire := make([]*wireResult, len(results))
	for i, r := range results {
		wire[i] = &wireResult{
			Fetched: toWireFetched(r.Fetched), Outcome: r.Outcome, Job: r.Job,
			RetryAt: r.RetryAt, Duration: r.Duration,
		}
	}
	return callSplit(ctx, c, "Complete", len(wire),
		func(lo, hi int) any { return completeReq{Proc: proc, Results: wire[lo:hi]} },
		func(i int) any { return wire[i] },
		func(int, int, *empty) {})
}

// Heartbeat implements backend.Backend.
func (c *Client) Heartbeat(ctx context.Context, info backend.ProcessInfo, ttl time.Duration) error {
	return c.call(ctx, "Heartbeat", heartbeatReq{Info: info, TTL: ttl}, &empty{})
}

var _ backend.Quieter = (*Client)(nil)

// RequestQuiet implements backend.Quieter. It fails with an error wrapping
// errors.ErrUnsupported when the served backend cannot quiet processes.
func (c *Client) RequestQuiet(ctx context.Context, id string) error {
	return c.call(ctx, "RequestQuiet", procReq{Proc: id}, &empty{})
}

// QuietRequested implements backend.Quieter (errors.ErrUnsupported as
// RequestQuiet).
func (c *Client) QuietRequested(ctx context.Context, id string) (bool, error) {
	var resp quietResp
	err := c.call(ctx, "QuietRequested", procReq{Proc: id}, &resp)
	return resp.Quiet, err
}

// Deregister implements backend.Backend.
func (c *Client) Deregister(ctx context.Context, proc string) error {
	return c.call(ctx, "Deregister", procReq{Proc: proc}, &empty{})
}

// MoveDue implements backend.Backend.
func (c *Client) MoveDue(ctx context.Context, now time.Time, limit int) (int, error) {
	var resp countResp
	err := c.call(ctx, "MoveDue", nowReq{Now: now, Limit: limit}, &resp)
	return resp.N, err
}

// RecoverOrphans implements backend.Backend.
func (c *Client) RecoverOrphans(ctx context.Context, now time.Time) (int, error) {
	var resp countResp
	err := c.call(ctx, "RecoverOrphans", nowReq{Now: now}, &resp)
	return resp.N, err
}

// TrimDead implements backend.Backend.
func (c *Client) TrimDead(ctx context.Context, now time.Time) (int, error) {
	var resp countResp
	err := c.call(ctx, "TrimDead", nowReq{Now: now}, &resp)
	return resp.N, err
}

// Lease implements backend.Backend.
func (c *Client) Lease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	var resp leaseResp
	err := c.call(ctx, "Lease", leaseReq{Name: name, Holder: holder, TTL: ttl}, &resp)
	return resp.Held, err
}

// Stats implements backend.Backend.
func (c *Client) Stats(ctx context.Context, now time.Time) (*backend.Stats, error) {
	var resp backend.Stats
	if err := c.call(ctx, "Stats", nowReq{Now: now}, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// ErrorGroups implements backend.Backend.
func (c *Client) ErrorGroups(ctx context.Context, f backend.ErrorGroupFilter, now time.Time) ([]backend.ErrorGroupStat, error) {
	var resp []backend.ErrorGroupStat
	if err := c.call(ctx, "ErrorGroups", errorGroupsReq{Filter: f, Now: now}, &resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// ListJobs implements backend.Backend.
func (c *Client) ListJobs(ctx context.Context, f backend.JobFilter) (*backend.JobPage, error) {
	var resp backend.JobPage
	if err := c.call(ctx, "ListJobs", f, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// RetryJobs implements backend.Backend.
func (c *Client) RetryJobs(ctx context.Context, set backend.JobSet, queue string, ids []string) (int, error) {
	var resp countResp
	err := c.call(ctx, "RetryJobs", jobsReq{Set: set, Queue: queue, IDs: ids}, &resp)
	return resp.N, err
}

// DeleteJobs implements backend.Backend.
func (c *Client) DeleteJobs(ctx context.Context, set backend.JobSet, queue string, ids []string) (int, error) {
	var resp countResp
	err := c.call(ctx, "DeleteJobs", jobsReq{Set: set, Queue: queue, IDs: ids}, &resp)
	return resp.N, err
}

// CreateBatch implements backend.Backend.
func (c *Client) CreateBatch(ctx context.Context, spec *backend.BatchSpec) error {
	return c.call(ctx, "CreateBatch", spec, &empty{})
}

// AddToBatch implements backend.Backend. The BatchID and BatchIndex the
// owner assigned are copied into add.Jobs, as an in-process call would leave
// them. Jobs more than the owner accepts in one request are added in
// several (see callSplit), each with its own Seq, as a caller adding in
// chunks would.
func (c *Client) AddToBatch(ctx context.Context, add *backend.BatchAdd) error {
	if add == nil {
		return c.call(ctx, "AddToBatch", add, &addResp{})
	}
	return callSplit(ctx, c, "AddToBatch", len(add.Jobs),
		func(lo, hi int) any {
			part := *add
			part.Seq, part.Jobs = add.Seq+lo, add.Jobs[lo:hi]
			return &part
		},
		func(i int) any { return add.Jobs[i] },
		func(lo, hi int, resp *addResp) {
			if len(resp.Assigned) != hi-lo {
				return
			}
			for i, j := range add.Jobs[lo:hi] {
				if j != nil {
					j.BatchID, j.BatchIndex = resp.Assigned[i].BatchID, resp.Assigned[i].BatchIndex
				}
			}
		})
}

// CommitBatch implements backend.Backend.
func (c *Client) CommitBatch(ctx context.Context, id string) error {
	return c.call(ctx, "CommitBatch", batchReq{ID: id}, &empty{})
}

// BatchStatus implements backend.Backend.
func (c *Client) BatchStatus(ctx context.Context, id string) (*backend.BatchStatus, error) {
	var resp backend.BatchStatus
	if err := c.call(ctx, "BatchStatus", batchReq{ID: id}, &resp); err != nil {
		return nil, err
	}
	return &resp, nil
}

// ListBatches implements backend.Backend.
func (c *Client) ListBatches(ctx context.Context, opts backend.BatchListOptions) ([]*backend.BatchStatus, error) {
	var resp []*backend.BatchStatus
	if err := c.call(ctx, "ListBatches", opts, &resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// CancelBatch implements backend.Backend.
func (c *Client) CancelBatch(ctx context.Context, id string) error {
	return c.call(ctx, "CancelBatch", batchReq{ID: id}, &empty{})
}

// BatchesCancelled implements backend.Backend.
func (c *Client) BatchesCancelled(ctx context.Context, ids []string) (map[string]bool, error) {
	var resp cancelledResp
	if err := c.call(ctx, "BatchesCancelled", idsReq{IDs: ids}, &resp); err != nil {
		return nil, err
	}
	return resp.Cancelled, nil
}

// CancelJob implements backend.Backend. The owner cancels a job in flight
// in its own process, where its servers run.
func (c *Client) CancelJob(ctx context.Context, queue, id string) (backend.CancelResult, error) {
	var resp cancelJobResp
	err := c.call(ctx, "CancelJob", cancelJobReq{Queue: queue, ID: id}, &resp)
	return resp.Result, err
}

// FindJob implements backend.Backend.
func (c *Client) FindJob(ctx context.Context, queue, id string) (*backend.Job, backend.JobSet, error) {
	var resp findJobResp
	if err := c.call(ctx, "FindJob", cancelJobReq{Queue: queue, ID: id}, &resp); err != nil {
		return nil, "", err
	}
	if resp.Job == nil {
		return nil, "", fmt.Errorf("joblot: remote FindJob: the owner sent no job")
	}
	return resp.Job, resp.Set, nil
}

// SetLimits implements backend.Backend.
func (c *Client) SetLimits(ctx context.Context, p backend.SetLimitsParams) (backend.SetLimitsResult, error) {
	var resp backend.SetLimitsResult
	err := c.call(ctx, "SetLimits", limitsReq{Queue: p.Queue, Limit: p.Limit}, &resp)
	return resp, err
}

// PauseQueue implements backend.Backend.
func (c *Client) PauseQueue(ctx context.Context, queue string, paused bool) error {
	return c.call(ctx, "PauseQueue", queueReq{Queue: queue, Paused: paused}, &empty{})
}

// ClearQueue implements backend.Backend.
func (c *Client) ClearQueue(ctx context.Context, queue string) (int, error) {
	var resp countResp
	err := c.call(ctx, "ClearQueue", queueReq{Queue: queue}, &resp)
	return resp.N, err
}

// DeleteBatch implements backend.Backend.
func (c *Client) DeleteBatch(ctx context.Context, id string) error {
	return c.call(ctx, "DeleteBatch", batchReq{ID: id}, &empty{})
}

// ForwardCallbacks implements backend.Backend.
func (c *Client) ForwardCallbacks(ctx context.Context, now time.Time) (int, error) {
	var resp countResp
	err := c.call(ctx, "ForwardCallbacks", nowReq{Now: now}, &resp)
	return resp.N, err
}
