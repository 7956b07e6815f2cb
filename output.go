package joblot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/joblot/joblot/backend"
)

// Output and progress defaults (ServerConfig.MaxOutputBytes,
// ServerConfig.ProgressInterval).
const (
	DefaultMaxOutputBytes   = 32 << 10
	DefaultProgressInterval = time.Second
)

// progressWriteTimeout bounds one progress write: progress is advisory,
// and the attempt's ack waits for a write under way.
const progressWriteTimeout = 5 * time.Second

// Errors of SetOutput and SetProgress.
var (
	// ErrOutputTooLarge: the JSON given to SetOutput exceeds
	// ServerConfig.MaxOutputBytes; nothing of it is recorded.
	ErrOutputTooLarge = errors.New("joblot: job output too large")
	// ErrInvalidProgress: SetProgress got a percentage outside 0..100 or
	// a note longer than backend.MaxProgressNote bytes.
	ErrInvalidProgress = errors.New("joblot: invalid job progress")
	// ErrNotInJob: SetOutput or SetProgress was called with a context
	// that is not a running job's.
	ErrNotInJob = errors.New("joblot: not called from a running job")
	// ErrOutputUnsupported: the server's backend keeps no job output
	// (it does not implement backend.OutputStore).
	ErrOutputUnsupported = fmt.Errorf("joblot: the backend keeps no job output: %w", errors.ErrUnsupported)
)

// SetOutput records v, encoded as JSON, as the output of the job running
// with ctx. It is stored with the job's success (in the same round trip
// as its ack) and kept for the store's output lifetime
// (backend.Limits.OutputTTL) within its byte cap; a failed attempt keeps
// nothing. A later call replaces the value. JSON longer than
// ServerConfig.MaxOutputBytes is refused with ErrOutputTooLarge and the
// value recorded before stays. Read it with Inspector.JobOutput or
// `joblot job show`.
func SetOutput(ctx context.Context, v any) error {
	r, err := recorderOf(ctx)
	if err != nil {
		return err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("joblot: encode job output: %w", err)
	}
	if max := r.maxBytes(); len(b) > max {
		return fmt.Errorf("%w: %d bytes, at most %d", ErrOutputTooLarge, len(b), max)
	}
	r.mu.Lock()
	if !r.closed { // settled: too late, and maybe the shared settledOutput
		r.output = b
	}
	r.mu.Unlock()
	return nil
}

// SetProgress records the progress (0-100) of the job running with ctx,
// with a short note (at most backend.MaxProgressNote bytes), for
// Inspector.JobOutput and `joblot job show` to read while it runs. Writes
// are coalesced: at most one store write per ServerConfig.ProgressInterval
// for a job, the latest value winning, and the last value goes with the
// attempt's ack, so calling it in a tight loop costs almost nothing. The
// progress of an attempt that fails is removed. A store write that fails
// is logged, not returned: progress is advisory.
func SetProgress(ctx context.Context, percent int, note string) error {
	r, err := recorderOf(ctx)
	if err != nil {
		return err
	}
	if percent < 0 || percent > 100 {
		return fmt.Errorf("%w: %d is not in 0..100", ErrInvalidProgress, percent)
	}
	if len(note) > backend.MaxProgressNote {
		return fmt.Errorf("%w: note of %d bytes, at most %d", ErrInvalidProgress, len(note), backend.MaxProgressNote)
	}
	r.setProgress(percent, note)
	return nil
}

// recorderOf returns the recorder of the job running with ctx (it lives
// in the attempt and is reached through the job's jobRun: no allocation
// per job).
func recorderOf(ctx context.Context) (*outputRecorder, error) {
	run, ok := ctx.Value(jobRunKey{}).(*jobRun)
	if !ok || run.a == nil {
		return nil, ErrNotInJob
	}
	if run.e.outputs == nil {
		return nil, ErrOutputUnsupported
	}
	return run.a.out.recorder(run.e, run.a.Fetched), nil
}

// outputSlot holds an attempt's output recorder, made when the job first
// calls SetOutput or SetProgress: most jobs call neither, and a recorder
// held in every attempt put the attempt in a size class 128 bytes larger.
// Its zero value is empty.
type outputSlot struct {
	p atomic.Pointer[outputRecorder]
}

// recorder returns the attempt's recorder, made on first use. Once the
// attempt settled without one it is e.settledOutput, which records
// nothing.
func (s *outputSlot) recorder(e *executor, f *backend.Fetched) *outputRecorder {
	if r := s.p.Load(); r != nil {
		return r
	}
	s.p.CompareAndSwap(nil, &outputRecorder{e: e, f: f})
	return s.p.Load()
}

// settle ends the recording (outputRecorder.settle). An attempt that
// recorded nothing leaves res as it is, and its slot closed.
func (s *outputSlot) settle(e *executor, res backend.Result) backend.Result {
	if s.p.CompareAndSwap(nil, e.settledOutput) {
		return res
	}
	return s.p.Load().settle(res)
}

func (r *outputRecorder) store() backend.OutputStore {
	return r.e.outputs
}

func (r *outputRecorder) maxBytes() int {
	if n := r.e.cfg.MaxOutputBytes; n > 0 {
		return n
	}
	return DefaultMaxOutputBytes
}

func (r *outputRecorder) interval() time.Duration {
	if d := r.e.cfg.ProgressInterval; d > 0 {
		return d
	}
	return DefaultProgressInterval
}

// outputRecorder holds what one attempt recorded: its output, kept in
// memory until the ack, and its progress, written to the store at most
// once per interval by a timer (the latest value winning).
type outputRecorder struct {
	e *executor
	f *backend.Fetched

	mu          sync.Mutex
	output      json.RawMessage
	percent     int
	note        string
	hasProgress bool
	closed      bool // settled: nothing more is written
	dirty       bool // a value not yet written
	pending     bool // a write is scheduled or under way
	written     bool // a write was sent: the store may hold a record
	lastWrite   time.Time
	timer       *time.Timer
	flushes     sync.WaitGroup
}

// setProgress keeps the value and writes it now if the last write is an
// interval old, else when the interval has passed (unless a write is
// already scheduled, which will carry it).
func (r *outputRecorder) setProgress(percent int, note string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed { // settled: too late, and maybe the shared settledOutput
		return
	}
	r.percent, r.note, r.hasProgress, r.dirty = percent, note, true, true
	if r.pending {
		return
	}
	r.schedule()
}

// schedule starts the next write; r.mu is held.
func (r *outputRecorder) schedule() {
	r.pending, r.written = true, true
	r.flushes.Add(1)
	wait := r.interval() - time.Since(r.lastWrite)
	if r.lastWrite.IsZero() || wait <= 0 {
		go r.flush()
		return
	}
	r.timer = time.AfterFunc(wait, r.flush)
}

// flush writes the latest progress, and schedules another write if a
// newer value came meanwhile.
func (r *outputRecorder) flush() {
	defer r.flushes.Done()
	r.mu.Lock()
	if r.closed {
		r.pending = false
		r.mu.Unlock()
		return
	}
	p := backend.SetProgressParams{Queue: r.f.Queue, ID: r.f.ID, Progress: r.percent, Note: r.note, Now: r.e.cfg.Now()}
	r.dirty = false
	r.lastWrite = time.Now()
	r.mu.Unlock()

	ctx, cancel := context.WithTimeout(context.Background(), progressWriteTimeout)
	_, err := r.store().SetProgress(ctx, p)
	cancel()
	if err != nil {
		r.e.logger.Warn("joblot: recording job progress failed", jobLogAttrs(r.f, "err", err)...)
	}

	r.mu.Lock()
	r.pending = false
	if r.dirty && !r.closed {
		r.schedule()
	}
	r.mu.Unlock()
}

// settle ends the recording: no write happens after it returns. It gives
// res what the backend must do with the attempt's record: store it with
// a success, remove the progress of any other outcome. The recorder of a
// job that never ran records nothing and leaves res as it is.
func (r *outputRecorder) settle(res backend.Result) backend.Result {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return res
	}
	r.closed = true
	if r.timer != nil && r.timer.Stop() {
		r.pending = false
		r.flushes.Done() // the stopped write will not run
	}
	r.mu.Unlock()
	r.flushes.Wait() // a write under way lands before the ack

	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case res.Outcome == backend.OutcomeSucceeded && (r.output != nil || r.hasProgress):
		res.Output = &backend.JobOutput{
			Queue: r.f.Queue, ID: r.f.ID, Output: r.output, Succeeded: true,
			Progress: r.percent, Note: r.note, HasProgress: r.hasProgress, UpdatedAt: r.e.cfg.Now(),
		}
	case r.written:
		res.Output = &backend.JobOutput{Queue: r.f.Queue, ID: r.f.ID}
	}
	return res
}
