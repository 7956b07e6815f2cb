package backendtest

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/joblot/joblot/backend"
)

// batchQueue is the queue batch jobs run on in the suite.
const batchQueue = "bq"

var allEvents = []backend.CallbackEvent{backend.CallbackComplete, backend.CallbackSuccess, backend.CallbackDeath}

// callbackTemplate is the suite's callback job for ev.
func callbackTemplate(ev backend.CallbackEvent) *backend.Job {
	return &backend.Job{Kind: "on_" + string(ev), Queue: cbQueue, Args: []byte(`{"cb":"` + string(ev) + `"}`), MaxRetries: 5}
}

// batchSpec returns a spec for a new batch with a callback for each of
// events, created now with a day to commit.
func (h *harness) batchSpec(parent string, events ...backend.CallbackEvent) *backend.BatchSpec {
	h.seq++
	now := time.Now()
	spec := &backend.BatchSpec{
		ID:             backend.NewJobID() + "-b" + strconv.Itoa(h.seq),
		Description:    "batch " + strconv.Itoa(h.seq),
		ParentID:       parent,
		Callbacks:      map[backend.CallbackEvent]*backend.Job{},
		CreatedAt:      now,
		CommitDeadline: now.Add(backend.DefaultCommitTimeout),
	}
	for _, ev := range events {
		spec.Callbacks[ev] = callbackTemplate(ev)
	}
	return spec
}

// createBatch creates a batch with callbacks for events and returns its ID.
func (h *harness) createBatch(parent string, events ...backend.CallbackEvent) string {
	h.t.Helper()
	spec := h.batchSpec(parent, events...)
	h.create(spec)
	return spec.ID
}

func (h *harness) create(spec *backend.BatchSpec) {
	h.t.Helper()
	if err := h.b.CreateBatch(h.ctx, spec); err != nil {
		h.t.Fatalf("CreateBatch(%s): %v", spec.ID, err)
	}
}

// addToBatch adds n fresh jobs on batchQueue as a client and returns them.
func (h *harness) addToBatch(id string, n int) []*backend.Job {
	h.t.Helper()
	js := h.jobs(batchQueue, n)
	if err := h.b.AddToBatch(h.ctx, &backend.BatchAdd{BatchID: id, Jobs: js}); err != nil {
		h.t.Fatalf("AddToBatch(%s, %d jobs): %v", id, n, err)
	}
	return js
}

func (h *harness) commit(id string) {
	h.t.Helper()
	if err := h.b.CommitBatch(h.ctx, id); err != nil {
		h.t.Fatalf("CommitBatch(%s): %v", id, err)
	}
}

// committedBatch creates a batch with every callback, adds n jobs and
// commits it.
func (h *harness) committedBatch(n int) (string, []*backend.Job) {
	h.t.Helper()
	id := h.createBatch("", allEvents...)
	js := h.addToBatch(id, n)
	h.commit(id)
	return id, js
}

// status returns a batch's status and checks the counter invariants: none
// negative, and their sum is Total.
func (h *harness) status(id string) *backend.BatchStatus {
	h.t.Helper()
	st, err := h.b.BatchStatus(h.ctx, id)
	if err != nil {
		h.t.Fatalf("BatchStatus(%s): %v", id, err)
	}
	checkCounters(h, st)
	return st
}

func checkCounters(h *harness, st *backend.BatchStatus) {
	h.t.Helper()
	c := countersOf(st)
	for _, v := range []int64{c.Total, c.Pending, c.Failing, c.Succeeded, c.Dead, c.Discarded, c.Cancelled, c.Removed} {
		if v < 0 {
			h.t.Fatalf("batch %s has a negative counter: %+v", st.ID, c)
		}
	}
	if sum := c.Pending + c.Failing + c.Succeeded + c.Dead + c.Discarded + c.Cancelled + c.Removed; sum != c.Total {
		h.t.Fatalf("batch %s counters sum to %d, Total is %d: %+v", st.ID, sum, c.Total, c)
	}
}

// counters are a batch's counters, compared as one value.
type counters struct {
	Total, Pending, Failing, Succeeded, Dead, Discarded, Cancelled, Removed int64
}

func countersOf(st *backend.BatchStatus) counters {
	return counters{st.Total, st.Pending, st.Failing, st.Succeeded, st.Dead, st.Discarded, st.Cancelled, st.Removed}
}

// wantCounters fails unless batch id has exactly the counters want.
func (h *harness) wantCounters(id string, want counters) *backend.BatchStatus {
	h.t.Helper()
	st := h.status(id)
	if got := countersOf(st); got != want {
		h.t.Fatalf("batch counters = %+v\n                       want %+v", got, want)
	}
	return st
}

func (h *harness) wantBatchErr(err error, target error, what string) {
	h.t.Helper()
	if !errors.Is(err, target) {
		h.t.Fatalf("%s = %v, want an error wrapping %v", what, err, target)
	}
}

// fetchCallbacks forwards leftover callbacks (a no-op when Complete already
// forwarded them: the deterministic IDs dedupe), then claims every callback
// job waiting, checks its fields and records it in callbacksSeen.
func (h *harness) fetchCallbacks() []*backend.Fetched {
	h.t.Helper()
	if _, err := h.b.ForwardCallbacks(h.ctx, time.Now()); err != nil {
		h.t.Fatalf("ForwardCallbacks: %v", err)
	}
	p := h.proc("callback-runner", cbQueue)
	fs := h.fetchAll(p, []string{cbQueue}, 100)
	for _, f := range fs {
		h.checkCallbackJob(f.Job)
		h.callbacksSeen[f.ID]++
	}
	return fs
}

func (h *harness) checkCallbackJob(j *backend.Job) {
	h.t.Helper()
	if j.CallbackOf == "" || !slices.Contains(backend.CallbackEvents[:], j.CallbackEvent) {
		h.t.Fatalf("job %s on the callback queue is not a callback: CallbackOf %q, CallbackEvent %q", j.ID, j.CallbackOf, j.CallbackEvent)
	}
	if want := backend.CallbackJobID(j.CallbackOf, j.CallbackEvent); j.ID != want {
		h.t.Fatalf("callback job ID = %q, want CallbackJobID %q", j.ID, want)
	}
	tpl := callbackTemplate(j.CallbackEvent)
	if j.Kind != tpl.Kind || j.Queue != tpl.Queue || string(j.Args) != string(tpl.Args) || j.MaxRetries != tpl.MaxRetries {
		h.t.Fatalf("callback job %s does not follow its template: %+v", j.ID, j)
	}
}

// runCallbacks fetches every waiting callback and acks it as succeeded.
func (h *harness) runCallbacks() {
	h.t.Helper()
	fs := h.fetchCallbacks()
	if len(fs) > 0 {
		h.complete("callback-runner", succeededAll(fs)...)
	}
}

func succeededAll(fs []*backend.Fetched) []backend.Result {
	out := make([]backend.Result, len(fs))
	for i, f := range fs {
		out[i] = succeeded(f)
	}
	return out
}

// cb names one callback: batch id and event.
func cb(batch string, ev backend.CallbackEvent) string { return backend.CallbackJobID(batch, ev) }

// wantCallbacks fails unless the callbacks seen so far (see fetchCallbacks)
// are exactly want, each once.
func (h *harness) wantCallbacks(want ...string) {
	h.t.Helper()
	var got []string
	for id, n := range h.callbacksSeen {
		if n != 1 {
			h.t.Fatalf("callback %s enqueued %d times, want exactly once", id, n)
		}
		got = append(got, id)
	}
	if !sameSet(got, want) {
		slices.Sort(got)
		slices.Sort(want)
		h.t.Fatalf("callbacks fired = %v, want %v", got, want)
	}
}

// fetchBatchJobs claims every job waiting on batchQueue for proc.
func (h *harness) fetchBatchJobs(proc string) []*backend.Fetched {
	h.t.Helper()
	return h.fetchAll(proc, []string{batchQueue}, 100)
}

// fetchParentAndChild fetches the waiting batch jobs, which must be one
// job of batch parent and one of batch child, and returns them.
func (h *harness) fetchParentAndChild(proc, parent, child string) (parentJob, childJob *backend.Fetched) {
	h.t.Helper()
	fs := h.fetchBatchJobs(proc)
	for _, f := range fs {
		switch f.BatchID {
		case parent:
			parentJob = f
		case child:
			childJob = f
		}
	}
	if parentJob == nil || childJob == nil || len(fs) != 2 {
		h.t.Fatalf("fetched %d batch jobs, want one of the parent and one of the child", len(fs))
	}
	return parentJob, childJob
}

// runBatchJobs fetches every waiting batch job and gives each the result
// decide returns.
func (h *harness) runBatchJobs(decide func(i int, f *backend.Fetched) backend.Result) {
	h.t.Helper()
	p := h.proc("batch-runner", batchQueue)
	fs := h.fetchBatchJobs(p)
	results := make([]backend.Result, len(fs))
	for i, f := range fs {
		results[i] = decide(i, f)
	}
	if len(results) > 0 {
		h.complete(p, results...)
	}
}

func allSucceed(_ int, f *backend.Fetched) backend.Result { return succeeded(f) }

// wantState fails unless batch id is in state want.
func (h *harness) wantState(id string, want backend.BatchState) *backend.BatchStatus {
	h.t.Helper()
	st := h.status(id)
	if st.State != want {
		h.t.Fatalf("batch state = %q, want %q (status %s)", st.State, want, fmtStatus(st))
	}
	return st
}

func fmtStatus(st *backend.BatchStatus) string {
	return fmt.Sprintf("%+v committed=%v complete=%v success=%v", countersOf(st), st.CommittedAt, st.CompleteAt, st.SuccessAt)
}
