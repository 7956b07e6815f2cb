package joblot

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/clock"
)

// The Inspector's vocabulary, re-exported so that a caller needs only this
// package: Stats (with Stats.Queue for one queue), JobFilter and the sets it
// selects, and JobPage.
type (
	Stats      = backend.Stats
	QueueStats = backend.QueueStats
	JobFilter  = backend.JobFilter
	JobSet     = backend.JobSet
	JobPage    = backend.JobPage
	// ErrorGroupFilter selects error groups (Inspector.ErrorGroups).
	ErrorGroupFilter = backend.ErrorGroupFilter
	// ErrorGroupStat is one queue's error group over the hours a query
	// covers.
	ErrorGroupStat = backend.ErrorGroupStat
)

// The sets a JobFilter selects.
const (
	SetQueued    = backend.SetQueued
	SetScheduled = backend.SetScheduled
	SetRetry     = backend.SetRetry
	SetDead      = backend.SetDead
	// SetInFlight is where Inspector.Job finds a job a process claimed.
	SetInFlight = backend.SetInFlight
)

// Inspector is the operator's API over a store: statistics, listing jobs
// with filters, retrying and deleting them one by one, by filter or all,
// and managing batches. The CLI is built on it. Every
// listing streams page by page; nothing loads a whole set into memory.
type Inspector struct {
	backend backend.Backend
	// Now is the clock Stats and ErrorGroups read the store at (queue
	// latency, live processes, today's counters, the error buckets kept);
	// nil means time.Now. Set it to the
	// clock the server and backend use (ServerConfig.Now).
	Now func() time.Time
}

// NewInspector returns an inspector over b.
func NewInspector(b backend.Backend) *Inspector { return &Inspector{backend: b} }

// DefaultPageSize is the page size of listings when a filter sets none.
const DefaultPageSize = 100

// Stats returns counters, queue sizes and latencies, and live processes.
func (i *Inspector) Stats(ctx context.Context) (*backend.Stats, error) {
	return i.backend.Stats(ctx, clock.Or(i.Now)())
}

// ErrorGroups returns the failures of every queue (or f.Queue) grouped by
// fingerprint across batches and jobs without a batch, over the hourly
// buckets kept (backend.DefaultErrorGroupRetention after their hour) and
// since f.Since: most frequent first, each queue's failures beyond the
// groups kept per hour in an Other row at the end. A group's Fingerprint
// selects its jobs in the retry and dead sets (JobFilter.ErrorFingerprint).
func (i *Inspector) ErrorGroups(ctx context.Context, f ErrorGroupFilter) ([]ErrorGroupStat, error) {
	gs, err := i.backend.ErrorGroups(ctx, f, clock.Or(i.Now)())
	if err != nil {
		return nil, fmt.Errorf("joblot: error groups: %w", err)
	}
	return gs, nil
}

// Throughput returns processed and failed counts per minute and queue (all
// queues when p.Queue is empty) over the last 24 hours at most
// (backend.ThroughputWindow); a zero p.Until means the Inspector's now.
func (i *Inspector) Throughput(ctx context.Context, p backend.ThroughputParams) (backend.ThroughputResult, error) {
	if p.Until.IsZero() {
		p.Until = clock.Or(i.Now)()
	}
	res, err := i.backend.Throughput(ctx, p)
	if err != nil {
		return backend.ThroughputResult{}, fmt.Errorf("joblot: throughput: %w", err)
	}
	return res, nil
}

// Jobs streams the jobs of one set that match f, page by page.
func (i *Inspector) Jobs(ctx context.Context, f backend.JobFilter) iter.Seq2[*backend.Job, error] {
	return func(yield func(*backend.Job, error) bool) {
		for page, err := range i.pages(ctx, f) {
			if err != nil {
				yield(nil, err)
				return
			}
			for _, j := range page.Jobs {
				if !yield(j, nil) {
					return
				}
			}
		}
	}
}

// Page returns one page of jobs matching f (f.Cursor continues a listing).
func (i *Inspector) Page(ctx context.Context, f backend.JobFilter) (*backend.JobPage, error) {
	if f.Limit <= 0 {
		f.Limit = DefaultPageSize
	}
	return i.backend.ListJobs(ctx, f)
}

// RetryJobs moves the jobs matching f (from the scheduled, retry or dead
// set) to their queues now, page by page; dead jobs are marked as manual
// retries so their batches count them back. It returns how many moved.
// A job keeps its attempt count, so a dead job retried by hand gets one
// new attempt and goes back to the dead set if it fails (unless it died
// with retries left, killed or as a poison pill: those retries then apply).
func (i *Inspector) RetryJobs(ctx context.Context, f backend.JobFilter) (int, error) {
	return i.eachPage(ctx, f, i.retryIDs)
}

// DeleteJobs removes the jobs matching f, page by page (batch jobs count as
// removed in their batch). It returns how many were removed.
func (i *Inspector) DeleteJobs(ctx context.Context, f backend.JobFilter) (int, error) {
	return i.eachPage(ctx, f, i.deleteIDs)
}

// retryIDs retries the jobs ids of queue's set; it returns how many moved.
func (i *Inspector) retryIDs(ctx context.Context, set backend.JobSet, queue string, ids []string) (int, error) {
	res, err := i.backend.RetryJobs(ctx, backend.RetryJobsParams{Set: set, Queue: queue, IDs: ids})
	return res.Retried, err
}

// deleteIDs deletes the jobs ids of queue's set; it returns how many went.
func (i *Inspector) deleteIDs(ctx context.Context, set backend.JobSet, queue string, ids []string) (int, error) {
	res, err := i.backend.DeleteJobs(ctx, backend.DeleteJobsParams{Set: set, Queue: queue, IDs: ids})
	return res.Deleted, err
}

// RetryJob and DeleteJob act on one job of a set, by queue and ID.
func (i *Inspector) RetryJob(ctx context.Context, set backend.JobSet, queue, id string) (bool, error) {
	n, err := i.retryIDs(ctx, set, queue, []string{id})
	return n == 1, err
}

// DeleteJob removes one job of a set, by queue and ID.
func (i *Inspector) DeleteJob(ctx context.Context, set backend.JobSet, queue, id string) (bool, error) {
	n, err := i.deleteIDs(ctx, set, queue, []string{id})
	return n == 1, err
}

// Job returns one job of queue wherever it is, and the set that holds it
// (SetInFlight when a process has claimed it), or an error wrapping
// ErrJobNotFound. It searches the queue's sets in turn: on a long queue it
// reads the whole queue.
func (i *Inspector) Job(ctx context.Context, queue, id string) (*backend.Job, backend.JobSet, error) {
	res, err := i.backend.FindJob(ctx, queue, id)
	if err != nil {
		return nil, "", fmt.Errorf("joblot: find job %s: %w", id, err)
	}
	return res.Job, res.Set, nil
}

// Batches lists batches, newest first.
func (i *Inspector) Batches(ctx context.Context, opts backend.BatchListOptions) ([]*backend.BatchStatus, error) {
	return i.backend.ListBatches(ctx, opts)
}

// Batch returns one batch's status; its Summary is the state in words
// ("complete, 548 retrying", "complete, settled").
func (i *Inspector) Batch(ctx context.Context, id string) (*backend.BatchStatus, error) {
	return i.backend.BatchStatus(ctx, id)
}

// CancelBatch and DeleteBatch act on a batch; see Client.
func (i *Inspector) CancelBatch(ctx context.Context, id string) error {
	return i.backend.CancelBatch(ctx, id)
}

// DeleteBatch removes a batch's state.
func (i *Inspector) DeleteBatch(ctx context.Context, id string) error {
	return i.backend.DeleteBatch(ctx, id)
}

// pages streams the pages of a listing.
func (i *Inspector) pages(ctx context.Context, f backend.JobFilter) iter.Seq2[*backend.JobPage, error] {
	return func(yield func(*backend.JobPage, error) bool) {
		if f.Limit <= 0 {
			f.Limit = DefaultPageSize
		}
		for {
			page, err := i.backend.ListJobs(ctx, f)
			if err != nil {
				yield(nil, fmt.Errorf("joblot: list %s jobs: %w", f.Set, err))
				return
			}
			if !yield(page, nil) || page.Next == "" {
				return
			}
			f.Cursor = page.Next
		}
	}
}

// eachPage applies act to the matching jobs of every page, grouped by
// queue. Pages are read before they are acted on and cursors continue
// after the last listed job, so acting does not make the listing skip.
func (i *Inspector) eachPage(ctx context.Context, f backend.JobFilter, act func(context.Context, backend.JobSet, string, []string) (int, error)) (int, error) {
	total := 0
	for page, err := range i.pages(ctx, f) {
		if err != nil {
			return total, err
		}
		byQueue := map[string][]string{}
		for _, j := range page.Jobs {
			byQueue[j.Queue] = append(byQueue[j.Queue], j.ID)
		}
		for q, ids := range byQueue {
			n, err := act(ctx, f.Set, q, ids)
			total += n
			if err != nil {
				return total, fmt.Errorf("joblot: %s jobs in %s: %w", f.Set, q, err)
			}
		}
	}
	return total, nil
}

// PauseQueue stops servers from fetching a queue's jobs; enqueueing and
// scheduling go on.
func (i *Inspector) PauseQueue(ctx context.Context, queue string) error {
	_, err := i.backend.PauseQueue(ctx, backend.PauseQueueParams{Queue: queue, Paused: true})
	return err
}

// ResumeQueue lets servers fetch a paused queue's jobs again.
func (i *Inspector) ResumeQueue(ctx context.Context, queue string) error {
	_, err := i.backend.PauseQueue(ctx, backend.PauseQueueParams{Queue: queue, Paused: false})
	return err
}

// ClearQueue removes every job waiting in a queue (not its scheduled, retry
// or dead jobs); batch jobs among them count as removed. It returns how
// many were removed.
func (i *Inspector) ClearQueue(ctx context.Context, queue string) (int, error) {
	return i.backend.ClearQueue(ctx, queue)
}
