package backendtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// harness wraps one test and its backend with helpers that fail the test on
// unexpected errors, so test bodies read as the scenario they check.
type harness struct {
	t   *testing.T
	b   backend.Backend
	ctx context.Context
	// seq numbers the jobs the harness creates, for readable args.
	seq int
	// callbacksSeen counts every callback job fetched by fetchCallbacks, by
	// job ID, over the whole test: exactly-once means each count is 1.
	callbacksSeen map[string]int
	// clock is the backend's clock for a test that asked for one.
	clock *testClock
}

// liveTTL is the heartbeat lease of a live process: far beyond any "now" a
// test passes to RecoverOrphans.
const liveTTL = 24 * time.Hour

// doomedTTL is the lease of a process a test lets die: RecoverOrphans at
// afterDoomed() sees it expired, while RecoverOrphans at time.Now() does
// not, however slow the machine (an hour, not a second: a test taking a
// second under -race must not see it expire by itself).
const doomedTTL = time.Hour

// pollTimeout bounds a wait for something the backend does on its own
// clock (a lease expiring): generous, so a slow machine makes a test
// slower, never red.
const pollTimeout = 30 * time.Second

// cbQueue is the queue every callback template of the suite runs on.
const cbQueue = "callbacks"

func newHarness(t *testing.T, b backend.Backend) *harness {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return &harness{t: t, b: b, ctx: ctx, callbacksSeen: map[string]int{}}
}

// afterDoomed is a time at which every doomed process's lease has expired
// and no live one's has.
func afterDoomed() time.Time { return time.Now().Add(3 * doomedTTL) }

// waitFor polls cond until it holds, failing the test if it does not within
// pollTimeout (or before the test's context ends).
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(h.ctx, pollTimeout)
	defer cancel()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			h.t.Fatalf("%s: not within %v", what, pollTimeout)
		case <-tick.C:
		}
	}
}

// job returns a fresh job for queue with a unique ID and small args.
func (h *harness) job(queue string) *backend.Job {
	h.seq++
	return &backend.Job{
		ID:        backend.NewJobID() + "-" + strconv.Itoa(h.seq),
		Kind:      "test_kind",
		Queue:     queue,
		Args:      []byte(`{"n":` + strconv.Itoa(h.seq) + `}`),
		CreatedAt: time.Now(),
	}
}

// jobs returns n fresh jobs for queue.
func (h *harness) jobs(queue string, n int) []*backend.Job {
	out := make([]*backend.Job, n)
	for i := range out {
		out[i] = h.job(queue)
	}
	return out
}

// enqueueResult enqueues jobs, fails the test on error, and returns what
// the backend says it did with them.
func (h *harness) enqueueResult(jobs ...*backend.Job) backend.EnqueueResult {
	h.t.Helper()
	res, err := h.b.Enqueue(h.ctx, jobs)
	if err != nil {
		h.t.Fatalf("Enqueue(%d jobs): %v", len(jobs), err)
	}
	return res
}

// enqueue enqueues jobs and fails the test on error.
func (h *harness) enqueue(jobs ...*backend.Job) {
	h.t.Helper()
	if _, err := h.b.Enqueue(h.ctx, jobs); err != nil {
		h.t.Fatalf("Enqueue(%d jobs): %v", len(jobs), err)
	}
}

// proc registers a live process (long lease) and returns its ID.
func (h *harness) proc(id string, queues ...string) string {
	h.t.Helper()
	h.heartbeat(id, liveTTL, queues...)
	return id
}

// doomedProc registers a process whose lease expires before afterDoomed().
func (h *harness) doomedProc(id string, queues ...string) string {
	h.t.Helper()
	h.heartbeat(id, doomedTTL, queues...)
	return id
}

func (h *harness) heartbeat(id string, ttl time.Duration, queues ...string) {
	h.t.Helper()
	info := backend.ProcessInfo{ID: id, Hostname: "host-" + id, PID: 4242, Queues: queues, Concurrency: 10, StartedAt: time.Now()}
	if err := h.b.Heartbeat(h.ctx, info, ttl); err != nil {
		h.t.Fatalf("Heartbeat(%s): %v", id, err)
	}
}

// fetch claims up to max jobs and checks the basic Fetch contract.
func (h *harness) fetch(proc string, queues []string, max int) []*backend.Fetched {
	h.t.Helper()
	res, err := h.b.Fetch(h.ctx, backend.FetchParams{Proc: proc, Queues: queues, Max: max})
	fs := res.Jobs
	if err != nil {
		h.t.Fatalf("Fetch(%s, %v, %d): %v", proc, queues, max, err)
	}
	if len(fs) > max {
		h.t.Fatalf("Fetch(%s, %v, %d) returned %d jobs, more than max", proc, queues, max, len(fs))
	}
	for _, f := range fs {
		if f.Malformed != nil {
			h.t.Fatalf("Fetch returned a malformed job %s: %v", f.ID, f.Malformed)
		}
		if f.Job == nil || len(f.Raw) == 0 {
			h.t.Fatalf("Fetch returned a job without Job or Raw: %+v", f)
		}
		if !slices.Contains(queues, f.Queue) {
			h.t.Fatalf("Fetch(%v) returned job %s of queue %q", queues, f.ID, f.Queue)
		}
	}
	return fs
}

// fetchOne claims exactly one job from queue.
func (h *harness) fetchOne(proc, queue string) *backend.Fetched {
	h.t.Helper()
	fs := h.fetch(proc, []string{queue}, 1)
	if len(fs) != 1 {
		h.t.Fatalf("Fetch(%s, %s, 1) returned %d jobs, want 1", proc, queue, len(fs))
	}
	return fs[0]
}

// fetchAll claims every job of queues in chunks of chunk.
func (h *harness) fetchAll(proc string, queues []string, chunk int) []*backend.Fetched {
	h.t.Helper()
	var out []*backend.Fetched
	for range 100_000 {
		fs := h.fetch(proc, queues, chunk)
		if len(fs) == 0 {
			return out
		}
		out = append(out, fs...)
	}
	h.t.Fatalf("fetchAll: queue never ran empty")
	return nil
}

// complete records results and fails the test on error.
func (h *harness) complete(proc string, results ...backend.Result) {
	h.t.Helper()
	if err := h.b.Complete(h.ctx, proc, results); err != nil {
		h.t.Fatalf("Complete(%s, %d results): %v", proc, len(results), err)
	}
}

// completeStale records results from a process that was declared dead. The
// backend still accounts batch jobs; it may report the fencing.
func (h *harness) completeStale(proc string, results ...backend.Result) {
	h.t.Helper()
	if err := h.b.Complete(h.ctx, proc, results); err != nil && !errors.Is(err, backend.ErrFenced) {
		h.t.Fatalf("Complete(%s) from a fenced process: %v", proc, err)
	}
}

func succeeded(f *backend.Fetched) backend.Result {
	return backend.Result{Fetched: f, Outcome: backend.OutcomeSucceeded, Duration: time.Millisecond}
}

func outcome(f *backend.Fetched, o backend.Outcome) backend.Result {
	return backend.Result{Fetched: f, Outcome: o, Duration: time.Millisecond}
}

// failure describes one failed attempt.
type failure struct {
	class, message, fingerprint string
}

func defaultFailure() failure {
	return failure{class: "*errors.errorString", message: "boom", fingerprint: "fp-boom"}
}

// retryResult fails f with a retry due at retryAt, as the server would: a
// clone with Attempt and error fields updated.
func retryResult(f *backend.Fetched, retryAt time.Time, fl failure) backend.Result {
	j := f.Job.Clone()
	j.Attempt++
	j.ErrorClass, j.ErrorMessage, j.ErrorFingerprint = fl.class, fl.message, fl.fingerprint
	j.FailedAt = time.Now()
	j.Recoveries = 0
	return backend.Result{Fetched: f, Outcome: backend.OutcomeRetry, Job: j, RetryAt: retryAt, Duration: time.Millisecond}
}

// deadResult sends f to the dead set at diedAt.
func deadResult(f *backend.Fetched, diedAt time.Time, fl failure) backend.Result {
	j := f.Job.Clone()
	j.Attempt++
	j.ErrorClass, j.ErrorMessage, j.ErrorFingerprint = fl.class, fl.message, fl.fingerprint
	j.FailedAt = diedAt
	j.DiedAt = diedAt
	j.Recoveries = 0
	return backend.Result{Fetched: f, Outcome: backend.OutcomeDead, Job: j, Duration: time.Millisecond}
}

// list pages through a whole set with filter f (Limit per page), checking
// the paging contract, and returns every job.
func (h *harness) list(f backend.JobFilter) []*backend.Job {
	h.t.Helper()
	var out []*backend.Job
	seen := map[string]bool{}
	for range 10_000 {
		page, err := h.b.ListJobs(h.ctx, f)
		if err != nil {
			h.t.Fatalf("ListJobs(%+v): %v", f, err)
		}
		limit := f.Limit
		if limit == 0 {
			limit = 100
		}
		if len(page.Jobs) > limit {
			h.t.Fatalf("ListJobs(%+v) returned %d jobs, more than the limit %d", f, len(page.Jobs), limit)
		}
		for _, j := range page.Jobs {
			if seen[j.ID] {
				h.t.Fatalf("ListJobs(%+v) returned job %s twice while paging", f, j.ID)
			}
			seen[j.ID] = true
			out = append(out, j)
		}
		if page.Next == "" {
			return out
		}
		if page.Next == f.Cursor {
			h.t.Fatalf("ListJobs(%+v) returned its own cursor as Next", f)
		}
		f.Cursor = page.Next
	}
	h.t.Fatalf("ListJobs(%+v) never reached the end", f)
	return nil
}

func jobIDs(js []*backend.Job) []string {
	out := make([]string, len(js))
	for i, j := range js {
		out[i] = j.ID
	}
	return out
}

func fetchedIDs(fs []*backend.Fetched) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.ID
	}
	return out
}

// setIDs returns the IDs in set (all queues, or one queue).
func (h *harness) setIDs(set backend.JobSet, queue string) []string {
	h.t.Helper()
	return jobIDs(h.list(backend.JobFilter{Set: set, Queue: queue}))
}

// findJob returns the job with id in set, or nil.
func (h *harness) findJob(set backend.JobSet, queue, id string) *backend.Job {
	h.t.Helper()
	for _, j := range h.list(backend.JobFilter{Set: set, Queue: queue}) {
		if j.ID == id {
			return j
		}
	}
	return nil
}

// wantSet fails unless set (in queue) holds exactly want, in any order.
func (h *harness) wantSet(set backend.JobSet, queue string, want ...string) {
	h.t.Helper()
	got := h.setIDs(set, queue)
	if !sameSet(got, want) {
		h.t.Fatalf("%s set of queue %q = %v, want %v", set, queue, got, want)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// stats returns Stats at now.
func (h *harness) stats(now time.Time) *backend.Stats {
	h.t.Helper()
	s, err := h.b.Stats(h.ctx, now)
	if err != nil {
		h.t.Fatalf("Stats: %v", err)
	}
	return s
}

// queueStats returns the stats of one queue (zero if absent).
func (h *harness) queueStats(name string) backend.QueueStats {
	h.t.Helper()
	for _, q := range h.stats(time.Now()).Queues {
		if q.Name == name {
			return q
		}
	}
	return backend.QueueStats{Name: name}
}

func (h *harness) moveDue(now time.Time) int {
	h.t.Helper()
	n, err := h.b.MoveDue(h.ctx, now, 1000)
	if err != nil {
		h.t.Fatalf("MoveDue: %v", err)
	}
	return n
}

func (h *harness) recoverOrphans(now time.Time) int {
	h.t.Helper()
	n, err := h.b.RecoverOrphans(h.ctx, now)
	if err != nil {
		h.t.Fatalf("RecoverOrphans: %v", err)
	}
	return n
}

func (h *harness) trimDead(now time.Time) int {
	h.t.Helper()
	n, err := h.b.TrimDead(h.ctx, now)
	if err != nil {
		h.t.Fatalf("TrimDead: %v", err)
	}
	return n
}

// diffJob returns a description of the fields that differ between got and
// want (times compared at millisecond precision), or "".
func diffJob(got, want *backend.Job) string {
	var b bytes.Buffer
	str := func(name, g, w string) {
		if g != w {
			fmt.Fprintf(&b, "%s: got %q, want %q; ", name, g, w)
		}
	}
	num := func(name string, g, w int64) {
		if g != w {
			fmt.Fprintf(&b, "%s: got %d, want %d; ", name, g, w)
		}
	}
	tm := func(name string, g, w time.Time) {
		if g.IsZero() != w.IsZero() || g.UnixMilli() != w.UnixMilli() {
			fmt.Fprintf(&b, "%s: got %v, want %v; ", name, g, w)
		}
	}
	str("ID", got.ID, want.ID)
	str("Kind", got.Kind, want.Kind)
	str("Queue", got.Queue, want.Queue)
	str("Args", string(got.Args), string(want.Args))
	num("Attempt", int64(got.Attempt), int64(want.Attempt))
	num("MaxRetries", int64(got.MaxRetries), int64(want.MaxRetries))
	num("Timeout", int64(got.Timeout), int64(want.Timeout))
	tm("CreatedAt", got.CreatedAt, want.CreatedAt)
	tm("RunAt", got.RunAt, want.RunAt)
	str("BatchID", got.BatchID, want.BatchID)
	num("BatchIndex", got.BatchIndex, want.BatchIndex)
	str("CallbackOf", got.CallbackOf, want.CallbackOf)
	str("CallbackEvent", string(got.CallbackEvent), string(want.CallbackEvent))
	str("ErrorClass", got.ErrorClass, want.ErrorClass)
	str("ErrorMessage", got.ErrorMessage, want.ErrorMessage)
	str("ErrorFingerprint", got.ErrorFingerprint, want.ErrorFingerprint)
	str("Backtrace", string(got.Backtrace), string(want.Backtrace))
	tm("FailedAt", got.FailedAt, want.FailedAt)
	tm("DiedAt", got.DiedAt, want.DiedAt)
	num("Recoveries", int64(got.Recoveries), int64(want.Recoveries))
	if got.ManualRetry != want.ManualRetry {
		fmt.Fprintf(&b, "ManualRetry: got %v, want %v; ", got.ManualRetry, want.ManualRetry)
	}
	if !maps.Equal(got.Meta, want.Meta) {
		fmt.Fprintf(&b, "Meta: got %q, want %q; ", got.Meta, want.Meta)
	}
	if got.TraceContext != want.TraceContext {
		fmt.Fprintf(&b, "TraceContext: got %x, want %x; ", got.TraceContext, want.TraceContext)
	}
	num("Snoozes", int64(got.Snoozes), int64(want.Snoozes))
	if !bytes.Equal(got.UnknownFields, want.UnknownFields) {
		fmt.Fprintf(&b, "UnknownFields: got %x, want %x; ", got.UnknownFields, want.UnknownFields)
	}
	return b.String()
}

// wantJob fails unless got equals want field by field.
func (h *harness) wantJob(what string, got, want *backend.Job) {
	h.t.Helper()
	if got == nil {
		h.t.Fatalf("%s: job %s missing", what, want.ID)
	}
	if d := diffJob(got, want); d != "" {
		h.t.Fatalf("%s: job %s differs: %s", what, want.ID, d)
	}
}
