package joblot

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/clock"
)

// EnqueueOpts are per-job options. Zero fields take the args' own defaults
// (JobArgsWithOpts), then the worker's, then the server's.
type EnqueueOpts struct {
	// Queue to run on (default DefaultQueue).
	Queue string
	// Delay schedules the job this long from now.
	Delay time.Duration
	// RunAt schedules the job at a time; it wins over Delay.
	RunAt time.Time
	// MaxRetries is the job's retry budget; 0 uses the kind's default,
	// NoRetries none.
	MaxRetries int
	// Timeout bounds one attempt; 0 uses the kind's default.
	Timeout time.Duration
	// Meta is metadata stored with the job and handed to its worker
	// (Job.Meta, JobMeta.Meta): small tags such as a tenant or a request
	// id. Together with the trace context it may take MaxMetaBytes stored;
	// more fails with ErrMetaTooLarge. Entries from the args' own
	// EnqueueOpts are kept unless given here too. The map is read during
	// the call, not kept. nil, or empty, costs nothing.
	Meta map[string]string
	// Unique, if set, makes the job unique in its queue (see UniqueOpts):
	// a duplicate is not stored and its EnqueueResult names the job it
	// duplicates. Default nil: not unique. Not in a batch.
	Unique *UniqueOpts
	// LimitKey is the job's group under a LimitByKey queue limit (see
	// QueueLimits), such as a customer id; it wins over the args' own
	// (LimitKeyer). At most MaxLimitKeyBytes of UTF-8. Default "": the
	// args' key, if any.
	LimitKey string
}

// EnqueueParams is one job for EnqueueMany and Batch.Add.
type EnqueueParams struct {
	Args JobArgs
	Opts EnqueueOpts
}

// ClientConfig configures a Client. The zero value is usable.
type ClientConfig struct {
	// MaxPayloadBytes is the largest encoded job accepted (default
	// DefaultMaxPayloadBytes, 1 MiB); larger ones fail with
	// ErrPayloadTooLarge and nothing is stored. A server applies its
	// Client's limit to the jobs it fetches too: a larger one (stored by
	// other means) goes dead with ErrPayloadTooLarge and never runs, so
	// give servers the limit their clients have.
	MaxPayloadBytes int
	// EnqueueChunk is how many jobs go to storage per round trip in
	// EnqueueMany and Batch.Add (default DefaultEnqueueChunk).
	EnqueueChunk int
	// Middleware runs around the building of every job this client
	// enqueues, first outermost (see EnqueueMiddleware): it can add
	// metadata and a trace context, or refuse a job. Default none.
	Middleware []EnqueueMiddleware
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Now is the clock that stamps CreatedAt, resolves EnqueueOpts.Delay
	// into RunAt, sets batch commit deadlines and dates Stats. It defaults
	// to time.Now; tests and simulations set it (to the backend's clock).
	Now func() time.Time
}

// Client enqueues jobs and manages batches. It is safe for concurrent use.
type Client struct {
	backend backend.Backend
	cfg     ClientConfig
	logger  *slog.Logger
}

// NewClient returns a client storing jobs in b.
func NewClient(b backend.Backend, cfg ClientConfig) *Client {
	if cfg.MaxPayloadBytes <= 0 {
		cfg.MaxPayloadBytes = DefaultMaxPayloadBytes
	}
	if cfg.EnqueueChunk <= 0 {
		cfg.EnqueueChunk = DefaultEnqueueChunk
	}
	cfg.Now = clock.Or(cfg.Now)
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	return &Client{backend: b, cfg: cfg, logger: logger}
}

// Backend returns the client's storage.
func (c *Client) Backend() backend.Backend { return c.backend }

// EnqueueResult says what became of one enqueued job.
type EnqueueResult struct {
	// ID is the job's ID; when SkippedAsDuplicate is set, the ID of the job
	// already in the store that this one duplicates.
	ID string
	// SkippedAsDuplicate reports that the job was not stored because the
	// store already holds a job it duplicates (a deterministic ID it has
	// seen, or a unique job holding the same lock: EnqueueOpts.Unique).
	SkippedAsDuplicate bool
}

// Enqueue stores one job and says what became of it. opts may be nil.
func (c *Client) Enqueue(ctx context.Context, args JobArgs, opts *EnqueueOpts) (EnqueueResult, error) {
	var o EnqueueOpts
	if opts != nil {
		o = *opts
	}
	job, err := c.buildJob(ctx, EnqueueParams{Args: args, Opts: o}, c.cfg.Now())
	if err != nil {
		return EnqueueResult{}, err
	}
	res, err := c.backend.Enqueue(ctx, []*backend.Job{job})
	if err != nil {
		return EnqueueResult{}, fmt.Errorf("joblot: enqueue %s: %w", job.Kind, err)
	}
	return resultOf(res, 0, job), nil
}

// EnqueueMany stores jobs in chunks of ClientConfig.EnqueueChunk, one round
// trip per chunk, and says what became of each, in order. Every job is
// validated before the first is stored, so bad input stores nothing; a
// storage error returns the results of the chunks stored before it.
func (c *Client) EnqueueMany(ctx context.Context, params []EnqueueParams) ([]EnqueueResult, error) {
	now := c.cfg.Now()
	jobs := make([]*backend.Job, len(params))
	for i, p := range params {
		job, err := c.buildJob(ctx, p, now)
		if err != nil {
			return nil, fmt.Errorf("joblot: job %d: %w", i, err)
		}
		jobs[i] = job
	}
	out := make([]EnqueueResult, 0, len(jobs))
	for start := 0; start < len(jobs); start += c.cfg.EnqueueChunk {
		chunk := jobs[start:min(start+c.cfg.EnqueueChunk, len(jobs))]
		res, err := c.backend.Enqueue(ctx, chunk)
		if err != nil {
			return out, fmt.Errorf("joblot: enqueue: %w", err)
		}
		for i, j := range chunk {
			out = append(out, resultOf(res, i, j))
		}
	}
	return out, nil
}

// resultOf is the client's view of what the backend did with job, the
// i-th of its call.
func resultOf(res backend.EnqueueResult, i int, job *backend.Job) EnqueueResult {
	if id, dup := res.Duplicate(i); dup {
		return EnqueueResult{ID: id, SkippedAsDuplicate: true}
	}
	return EnqueueResult{ID: job.ID}
}

// buildJob encodes args and resolves options into a storable job, through
// the enqueue middleware.
func (c *Client) buildJob(ctx context.Context, p EnqueueParams, now time.Time) (*backend.Job, error) {
	return c.buildJobTo(ctx, p, now, enqueueTarget{})
}

// buildJobTo is buildJob for a job whose batch or callback role enqueue
// middleware should see (enqueue_target.go).
func (c *Client) buildJobTo(ctx context.Context, p EnqueueParams, now time.Time, to enqueueTarget) (*backend.Job, error) {
	if p.Args == nil {
		return nil, fmt.Errorf("joblot: nil job args")
	}
	kind := p.Args.Kind()
	if kind == "" {
		return nil, fmt.Errorf("joblot: %T.Kind() is empty", p.Args)
	}
	o := p.Opts
	if wo, ok := p.Args.(JobArgsWithOpts); ok {
		o = mergeOpts(o, wo.EnqueueOpts())
	}
	raw, err := json.Marshal(p.Args)
	if err != nil {
		return nil, fmt.Errorf("joblot: encode %s args: %w", kind, err)
	}
	job := &backend.Job{
		ID:         backend.NewJobID(),
		Kind:       kind,
		Queue:      o.Queue,
		Args:       raw,
		MaxRetries: o.MaxRetries,
		Timeout:    o.Timeout,
		CreatedAt:  now,
		Meta:       o.Meta,
	}
	if job.Queue == "" {
		job.Queue = DefaultQueue
	}
	if len(c.cfg.Middleware) > 0 {
		if err := c.enqueueMiddleware(ctx, p.Args, job, to); err != nil {
			return nil, err
		}
	}
	if len(job.Meta) > 0 || job.TraceContext != "" {
		if size := backend.MetaSize(job.Meta) + len(job.TraceContext); size > MaxMetaBytes {
			return nil, fmt.Errorf("%w: %s job's metadata and trace context take %d bytes, limit %d", ErrMetaTooLarge, kind, size, MaxMetaBytes)
		}
	}
	switch {
	case !o.RunAt.IsZero():
		job.RunAt = o.RunAt
	case o.Delay > 0:
		job.RunAt = now.Add(o.Delay)
	}
	if err := setUnique(job, o.Unique, now); err != nil {
		return nil, err
	}
	if err := setLimitKey(job, p.Args, o.LimitKey); err != nil {
		return nil, err
	}
	// The payload check counts the whole stored form, not just the args,
	// because that is what costs memory.
	if size := job.BinarySize(); size > c.cfg.MaxPayloadBytes {
		return nil, fmt.Errorf("%w: %s job is %d bytes, limit %d", ErrPayloadTooLarge, kind, size, c.cfg.MaxPayloadBytes)
	}
	return job, nil
}

// enqueueMiddleware runs the client's enqueue middleware on job, which
// gets the metadata and trace context it leaves.
func (c *Client) enqueueMiddleware(ctx context.Context, args JobArgs, job *backend.Job, to enqueueTarget) error {
	ej := &EnqueueJob{Args: args, Kind: job.Kind, Queue: job.Queue}
	to.describe(ej, job.ID)
	if len(job.Meta) > 0 {
		ej.Meta = maps.Clone(job.Meta) // the caller's map is not the middleware's to change
	}
	if err := runEnqueueMiddleware(ctx, c.cfg.Middleware, ej); err != nil {
		return fmt.Errorf("joblot: enqueue middleware refused a %s job: %w", job.Kind, err)
	}
	job.Meta, job.TraceContext = ej.Meta, backend.TraceContext(ej.TraceContext)
	return nil
}

// mergeOpts fills the zero fields of o from defaults.
func mergeOpts(o, defaults EnqueueOpts) EnqueueOpts {
	if o.Queue == "" {
		o.Queue = defaults.Queue
	}
	if o.Delay == 0 && o.RunAt.IsZero() {
		o.Delay, o.RunAt = defaults.Delay, defaults.RunAt
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = defaults.MaxRetries
	}
	if o.Timeout == 0 {
		o.Timeout = defaults.Timeout
	}
	if o.Unique == nil {
		o.Unique = defaults.Unique
	}
	if o.LimitKey == "" {
		o.LimitKey = defaults.LimitKey
	}
	switch {
	case len(o.Meta) == 0:
		o.Meta = defaults.Meta
	case len(defaults.Meta) > 0:
		m := maps.Clone(defaults.Meta)
		maps.Copy(m, o.Meta)
		o.Meta = m
	}
	return o
}

// Stats returns counters, queue sizes and live processes.
func (c *Client) Stats(ctx context.Context) (*backend.Stats, error) {
	return c.backend.Stats(ctx, c.cfg.Now())
}
