// Package demo is `joblot demo`: three batches run by an in-process server
// — one that succeeds, one with 30 % failures over a handful of distinct
// errors, one that opens a child batch from inside a job — with a live
// progress bar each, then each batch's status, error groups, the callbacks
// that fired, and what failure tracking cost in storage.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
)

// DefaultJobs is the number of jobs per batch.
const DefaultJobs = 20_000

// Progress is a progress bar; the demo drives one per batch.
type Progress interface {
	Set(done int64)
	SetTotal(total int64)
	Finish()
}

// Meter measures the store (Redis used_memory or the file's size).
type Meter interface {
	UsedMemory(ctx context.Context) (int64, error)
	Source() string
}

// BatchKeyMeter is a Meter that measures each key of a batch (Redis:
// MEMORY USAGE of {jl:b:<id>}:meta, :bits, :errs, ...), by batch ID and key
// suffix.
type BatchKeyMeter interface {
	Meter
	BatchKeyBytes(ctx context.Context, ids []string) (map[string]map[string]int64, error)
}

// Options configure a demo run.
type Options struct {
	// Jobs is the number of jobs per batch (default DefaultJobs). The
	// nested batch splits them between parent and child.
	Jobs int
	// Out receives the report.
	Out io.Writer
	// NewProgress returns a progress bar for a batch, or nil for none.
	NewProgress func(label string, total int64) Progress
	// Meter, if set, measures storage (and per batch, if it is a
	// BatchKeyMeter).
	Meter Meter
	// Timeout bounds each batch (default 60 s).
	Timeout time.Duration
	Logger  *slog.Logger
}

// BatchReport is what the demo learned about one batch.
type BatchReport struct {
	Label    string
	Status   *backend.BatchStatus
	Children []*backend.BatchStatus
	Fired    []firedCallback
	// ChildFired are the callbacks fired per child batch.
	ChildFired map[string][]firedCallback
	Took       time.Duration
}

// Report is the outcome of a demo run.
type Report struct {
	Batches []*BatchReport
}

// spec is one demo batch.
type spec struct {
	label       string
	description string
	// enqueue populates the batch.
	enqueue func(ctx context.Context, b *joblot.Batch) error
}

// Run runs the demo on b and writes its report to opts.Out.
func Run(ctx context.Context, b backend.Backend, opts Options) (*Report, error) {
	if opts.Jobs <= 0 {
		opts.Jobs = DefaultJobs
	}
	if opts.Out == nil {
		opts.Out = io.Discard
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 60 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.NewProgress == nil {
		opts.NewProgress = func(string, int64) Progress { return nopProgress{} }
	}
	out := opts.Out
	cb := &callbackLog{fired: map[string][]firedCallback{}}
	client := joblot.NewClient(b, joblot.ClientConfig{Logger: opts.Logger})
	srv, err := joblot.NewServer(b, joblot.ServerConfig{
		Workers: workers(cb, 1000),
		// Short duty intervals make the demo's retries and leftover
		// callbacks quick; they are not what a production server needs.
		PollInterval:    200 * time.Millisecond,
		ForwardInterval: time.Second,
		Client:          client,
		Logger:          opts.Logger,
	})
	if err != nil {
		return nil, err
	}
	var memBefore int64
	if opts.Meter != nil {
		if memBefore, err = opts.Meter.UsedMemory(ctx); err != nil {
			return nil, fmt.Errorf("demo: measure %s: %w", opts.Meter.Source(), err)
		}
	}
	if err := srv.Start(ctx); err != nil {
		return nil, err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Stop(sctx)
	}()

	n := opts.Jobs
	specs := []spec{
		{
			label:       "thumbnails",
			description: fmt.Sprintf("resize %d thumbnails (all succeed)", n),
			enqueue: func(ctx context.Context, bt *joblot.Batch) error {
				return addChunks(ctx, bt, n, func(i int) joblot.JobArgs { return ThumbnailArgs{N: i} })
			},
		},
		{
			label:       "invoices",
			description: fmt.Sprintf("charge %d invoices (30%% fail: some for good, some once)", n),
			enqueue: func(ctx context.Context, bt *joblot.Batch) error {
				return addChunks(ctx, bt, n, func(i int) joblot.JobArgs { return ChargeArgs{N: i} })
			},
		},
		{
			label:       "report",
			description: fmt.Sprintf("monthly report: %d sections, plus a child batch of %d charts", n/2, n-n/2),
			enqueue: func(ctx context.Context, bt *joblot.Batch) error {
				if err := bt.Add(ctx, joblot.EnqueueParams{Args: ChartsArgs{Charts: n - n/2}}); err != nil {
					return err
				}
				return addChunks(ctx, bt, n/2-1, func(i int) joblot.JobArgs { return SectionArgs{N: i} })
			},
		},
	}
	fmt.Fprintf(out, "joblot demo: %d batches of %d jobs\n\n", len(specs), n)
	report := &Report{}
	for _, sp := range specs {
		br, err := runBatch(ctx, client, cb, sp, opts)
		if err != nil {
			return report, err
		}
		report.Batches = append(report.Batches, br)
	}
	fmt.Fprintln(out)
	for _, br := range report.Batches {
		writeBatch(out, br)
	}
	if err := writeMemory(ctx, out, opts.Meter, memBefore, report); err != nil {
		return report, err
	}
	return report, nil
}

// addChunks adds count jobs made by mk to bt, a chunk at a time, so the
// client never holds the whole batch.
func addChunks(ctx context.Context, bt *joblot.Batch, count int, mk func(int) joblot.JobArgs) error {
	const chunk = 5000
	for from := 0; from < count; from += chunk {
		to := min(from+chunk, count)
		params := make([]joblot.EnqueueParams, 0, to-from)
		for i := from; i < to; i++ {
			params = append(params, joblot.EnqueueParams{Args: mk(i)})
		}
		if err := bt.Add(ctx, params...); err != nil {
			return err
		}
	}
	return nil
}

// runBatch creates, populates and commits one batch, then follows it with
// a progress bar until its jobs have ended and its callbacks have run.
func runBatch(ctx context.Context, client *joblot.Client, cb *callbackLog, sp spec, opts Options) (*BatchReport, error) {
	start := time.Now()
	bt, err := client.NewBatch(ctx, joblot.BatchOpts{
		Description: sp.description,
		OnComplete:  callback(),
		OnSuccess:   callback(),
		OnDeath:     callback(),
	})
	if err != nil {
		return nil, err
	}
	if err := sp.enqueue(ctx, bt); err != nil {
		return nil, fmt.Errorf("demo: populate %s: %w", sp.label, err)
	}
	if err := bt.Commit(ctx); err != nil {
		return nil, err
	}
	fmt.Fprintf(opts.Out, "%-10s batch %s: %s\n", sp.label, bt.ID(), sp.description)
	bar := opts.NewProgress(sp.label, int64(opts.Jobs))
	deadline := time.Now().Add(opts.Timeout)
	for {
		st, kids, err := statusTree(ctx, client, bt.ID())
		if err != nil {
			return nil, err
		}
		total, done := progressOf(st, kids)
		bar.SetTotal(total)
		bar.Set(done)
		if settled(cb, st, kids) {
			bar.Finish()
			br := &BatchReport{Label: sp.label, Status: st, Children: kids, Fired: cb.of(st.ID), ChildFired: map[string][]firedCallback{}, Took: time.Since(start)}
			for _, k := range kids {
				br.ChildFired[k.ID] = cb.of(k.ID)
			}
			return br, nil
		}
		if time.Now().After(deadline) {
			bar.Finish()
			return nil, fmt.Errorf("demo: batch %s (%s) did not finish within %v: %d of %d jobs done, state %s", bt.ID(), sp.label, opts.Timeout, done, total, st.State)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// statusTree returns a batch's status and its children's.
func statusTree(ctx context.Context, client *joblot.Client, id string) (*backend.BatchStatus, []*backend.BatchStatus, error) {
	st, err := client.BatchStatus(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	kids := make([]*backend.BatchStatus, 0, len(st.Children))
	for _, kid := range st.Children {
		ks, err := client.BatchStatus(ctx, kid)
		if errors.Is(err, backend.ErrBatchNotFound) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		kids = append(kids, ks)
	}
	return st, kids, nil
}

// progressOf counts jobs that have ended (neither pending nor waiting for
// a retry) over the batch and its children. A child counts as one member
// of its parent, so its own jobs are added.
func progressOf(st *backend.BatchStatus, kids []*backend.BatchStatus) (total, done int64) {
	for _, s := range append([]*backend.BatchStatus{st}, kids...) {
		total += s.Total
		done += s.Total - s.Pending - s.Failing
	}
	return total, done
}

// settled reports whether the batch and its children have no job left to
// run and every callback their outcome calls for has run: complete
// always, success when nothing died, death when something did.
func settled(cb *callbackLog, st *backend.BatchStatus, kids []*backend.BatchStatus) bool {
	for _, s := range append([]*backend.BatchStatus{st}, kids...) {
		if s.Pending > 0 || s.Failing > 0 || s.CommittedAt.IsZero() {
			return false
		}
		if !cb.has(s.ID, backend.CallbackComplete) {
			return false
		}
		if s.Dead > 0 && !cb.has(s.ID, backend.CallbackDeath) {
			return false
		}
		if s.Dead == 0 && s.Discarded == 0 && s.Cancelled == 0 && s.Removed == 0 && !cb.has(s.ID, backend.CallbackSuccess) {
			return false
		}
	}
	return true
}

type nopProgress struct{}

func (nopProgress) Set(int64)      {}
func (nopProgress) SetTotal(int64) {}
func (nopProgress) Finish()        {}
