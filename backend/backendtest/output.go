package backendtest

import (
	"errors"
	"strings"
	"time"

	"github.com/joblot/joblot/backend"
)

// outputTests cover backend.OutputStore, on backends that implement it:
// a success's output is kept (carried by its ack), a failed attempt keeps
// nothing, records expire after Limits.OutputTTL, and the global byte cap
// drops and counts the writes beyond it. Progress coalescing is the
// server's, tested in package joblot.
func outputTests() []test {
	return []test{
		{name: "StoredOnSuccess", run: testOutputOnSuccess},
		{name: "NoneOnFailure", run: testOutputNoneOnFailure},
		{name: "LateProgressKeepsFinal", run: testOutputLateProgress},
		{name: "Lifetime", opts: Options{Limits: backend.Limits{OutputTTL: 24 * time.Hour}}, run: testOutputLifetime},
		{name: "ByteCapDropsAndCounts", opts: Options{Limits: backend.Limits{OutputMaxBytes: 600}}, run: testOutputCap},
	}
}

func (h *harness) outputs() backend.OutputStore {
	h.t.Helper()
	o, ok := h.b.(backend.OutputStore)
	if !ok {
		h.t.Skip("the backend does not implement backend.OutputStore")
	}
	return o
}

// jobOutput returns the record of f's job, nil when there is none.
func (h *harness) jobOutput(o backend.OutputStore, f *backend.Fetched) *backend.JobOutput {
	h.t.Helper()
	rec, err := o.JobOutput(h.ctx, f.Queue, f.ID)
	if errors.Is(err, backend.ErrNoOutput) {
		return nil
	}
	if err != nil {
		h.t.Fatalf("JobOutput(%s): %v", f.ID, err)
	}
	return rec
}

func (h *harness) setProgress(o backend.OutputStore, f *backend.Fetched, pct int, note string, now time.Time) bool {
	h.t.Helper()
	res, err := o.SetProgress(h.ctx, backend.SetProgressParams{Queue: f.Queue, ID: f.ID, Progress: pct, Note: note, Now: now})
	if err != nil {
		h.t.Fatalf("SetProgress(%s): %v", f.ID, err)
	}
	return res.Stored
}

// finalOutput is the record a success carries.
func finalOutput(f *backend.Fetched, output string, now time.Time) *backend.JobOutput {
	return &backend.JobOutput{Queue: f.Queue, ID: f.ID, Output: []byte(output), Succeeded: true, Progress: 100, Note: "done", HasProgress: true, UpdatedAt: now}
}

// recordSize is what a record counts against the byte cap.
func (h *harness) recordSize(o *backend.JobOutput) int64 {
	v, err := backend.EncodeOutput(o)
	if err != nil {
		h.t.Fatal(err)
	}
	return int64(len(backend.OutputMember(o.Queue, o.ID)) + len(v))
}

func testOutputOnSuccess(h *harness) {
	o := h.outputs()
	h.enqueue(h.jobs("default", 3)...)
	p := h.proc("p1", "default")
	fs := h.fetch(p, []string{"default"}, 3)
	now := time.Now().UTC().Truncate(time.Millisecond)
	if !h.setProgress(o, fs[0], 40, "reading", now) {
		h.t.Fatal("a progress write within the cap was not stored")
	}
	got := h.jobOutput(o, fs[0])
	if got == nil || got.Succeeded || got.Progress != 40 || got.Note != "reading" || !got.HasProgress || !got.UpdatedAt.Equal(now) {
		h.t.Fatalf("progress while running: %+v", got)
	}
	// A success with output, one without, in one ack.
	withOut := succeeded(fs[0])
	withOut.Output = finalOutput(fs[0], `{"rows":7}`, now)
	h.complete(p, withOut, succeeded(fs[1]))
	got = h.jobOutput(o, fs[0])
	if got == nil || !got.Succeeded || string(got.Output) != `{"rows":7}` || got.Progress != 100 || got.Note != "done" || got.Queue != "default" || got.ID != fs[0].ID {
		h.t.Fatalf("output after success: %+v", got)
	}
	if got := h.jobOutput(o, fs[1]); got != nil {
		h.t.Fatalf("a success without output has a record: %+v", got)
	}
	// The same id in another queue is another job.
	if _, err := o.JobOutput(h.ctx, "other", fs[0].ID); !errors.Is(err, backend.ErrNoOutput) {
		h.t.Fatalf("JobOutput of another queue: %v, want ErrNoOutput", err)
	}
	st := h.stats(time.Now())
	if st.OutputRecords != 1 || st.OutputBytes != h.recordSize(withOut.Output) || st.OutputDropped != 0 {
		h.t.Fatalf("stats: records %d bytes %d dropped %d; want 1, %d, 0", st.OutputRecords, st.OutputBytes, st.OutputDropped, h.recordSize(withOut.Output))
	}
	if st.Processed != 2 {
		h.t.Fatalf("processed %d, want 2: the output changes no counter", st.Processed)
	}
}

func testOutputNoneOnFailure(h *harness) {
	o := h.outputs()
	h.enqueue(h.jobs("default", 4)...)
	p := h.proc("p1", "default")
	fs := h.fetch(p, []string{"default"}, 4)
	now := time.Now()
	for _, f := range fs {
		h.setProgress(o, f, 50, "half", now)
	}
	clear := func(r backend.Result) backend.Result {
		r.Output = &backend.JobOutput{Queue: r.Fetched.Queue, ID: r.Fetched.ID}
		return r
	}
	h.complete(p,
		clear(retryResult(fs[0], now.Add(time.Hour), defaultFailure())),
		clear(deadResult(fs[1], now, defaultFailure())),
		clear(outcome(fs[2], backend.OutcomeDiscarded)),
		clear(outcome(fs[3], backend.OutcomeRequeue)))
	for _, f := range fs {
		if got := h.jobOutput(o, f); got != nil {
			h.t.Fatalf("job %s keeps %+v after an attempt that did not succeed", f.ID, got)
		}
	}
	if st := h.stats(time.Now()); st.OutputRecords != 0 || st.OutputBytes != 0 {
		h.t.Fatalf("stats after failures: records %d bytes %d, want 0, 0", st.OutputRecords, st.OutputBytes)
	}
}

// A progress write that arrives after the job's success changes nothing,
// and neither does a later failed run's clear.
func testOutputLateProgress(h *harness) {
	o := h.outputs()
	h.enqueue(h.job("default"))
	p := h.proc("p1", "default")
	f := h.fetchOne(p, "default")
	now := time.Now()
	r := succeeded(f)
	r.Output = finalOutput(f, `"ok"`, now)
	h.complete(p, r)
	if h.setProgress(o, f, 10, "late", now) {
		h.t.Fatal("a late progress write replaced the final record")
	}
	// The same job run again (a duplicate) fails: its clear keeps the
	// final record.
	h.enqueue(f.Job)
	f2 := h.fetchOne(p, "default")
	fail := retryResult(f2, now.Add(time.Hour), defaultFailure())
	fail.Output = &backend.JobOutput{Queue: f2.Queue, ID: f2.ID}
	h.complete(p, fail)
	if got := h.jobOutput(o, f); got == nil || !got.Succeeded || string(got.Output) != `"ok"` {
		h.t.Fatalf("final record after a late write and a failed rerun: %+v", got)
	}
}

// Records expire Limits.OutputTTL after their last write: a reader no
// longer sees them, and the backend's periodic duties (TrimDead,
// ForwardCallbacks) remove them and their bytes.
func testOutputLifetime(h *harness) {
	o := h.outputs()
	h.enqueue(h.jobs("default", 2)...)
	p := h.proc("p1", "default")
	fs := h.fetch(p, []string{"default"}, 2)
	now := time.Now()
	h.setProgress(o, fs[0], 1, "old", now.Add(-48*time.Hour)) // expired a day ago
	h.setProgress(o, fs[1], 2, "fresh", now)
	if got := h.jobOutput(o, fs[0]); got != nil {
		h.t.Fatalf("an expired record is returned: %+v", got)
	}
	if got := h.jobOutput(o, fs[1]); got == nil || got.Note != "fresh" {
		h.t.Fatalf("a fresh record: %+v", got)
	}
	sweep := func(at time.Time) {
		if _, err := h.b.TrimDead(h.ctx, at); err != nil {
			h.t.Fatalf("TrimDead: %v", err)
		}
		if _, err := h.b.ForwardCallbacks(h.ctx, at); err != nil {
			h.t.Fatalf("ForwardCallbacks: %v", err)
		}
	}
	sweep(now)
	st := h.stats(now)
	fresh := h.recordSize(&backend.JobOutput{Queue: fs[1].Queue, ID: fs[1].ID, Progress: 2, Note: "fresh", HasProgress: true, UpdatedAt: now})
	if st.OutputRecords != 1 || st.OutputBytes != fresh {
		h.t.Fatalf("after the sweep: records %d bytes %d, want 1, %d", st.OutputRecords, st.OutputBytes, fresh)
	}
	sweep(now.Add(25 * time.Hour))
	if st := h.stats(now); st.OutputRecords != 0 || st.OutputBytes != 0 || st.OutputDropped != 0 {
		h.t.Fatalf("after the lifetime: records %d bytes %d dropped %d, want 0", st.OutputRecords, st.OutputBytes, st.OutputDropped)
	}
}

// A write that would take the records past Limits.OutputMaxBytes is not
// stored and is counted; it removes the job's previous record, so no
// stale progress stays; replacing a record counts only the difference.
func testOutputCap(h *harness) {
	o := h.outputs()
	h.enqueue(h.jobs("default", 3)...)
	p := h.proc("p1", "default")
	fs := h.fetch(p, []string{"default"}, 3)
	now := time.Now().UTC().Truncate(time.Millisecond)
	a := finalOutput(fs[0], `"`+strings.Repeat("a", 200)+`"`, now)
	ra := succeeded(fs[0])
	ra.Output = a
	h.complete(p, ra)
	// b's progress fits; its success with a big output does not.
	if !h.setProgress(o, fs[1], 5, "b", now) {
		h.t.Fatal("a small progress write within the cap was dropped")
	}
	big := finalOutput(fs[1], `"`+strings.Repeat("b", 400)+`"`, now)
	if h.recordSize(a)+h.recordSize(big) <= 600 {
		h.t.Fatal("test setup: the big output fits the cap")
	}
	rb := succeeded(fs[1])
	rb.Output = big
	h.complete(p, rb)
	if got := h.jobOutput(o, fs[1]); got != nil {
		h.t.Fatalf("a success over the cap is kept: %+v", got)
	}
	st := h.stats(time.Now())
	if st.OutputDropped != 1 || st.OutputRecords != 1 || st.OutputBytes != h.recordSize(a) {
		h.t.Fatalf("after the drop: dropped %d records %d bytes %d; want 1, 1, %d", st.OutputDropped, st.OutputRecords, st.OutputBytes, h.recordSize(a))
	}
	// A progress write over the cap is dropped and counted too.
	note := strings.Repeat("n", backend.MaxProgressNote)
	if h.recordSize(a)+h.recordSize(&backend.JobOutput{Queue: fs[2].Queue, ID: fs[2].ID, Progress: 1, Note: note, HasProgress: true, UpdatedAt: now}) <= 600 {
		h.t.Fatal("test setup: the long progress note fits the cap")
	}
	if h.setProgress(o, fs[2], 1, note, now) {
		h.t.Fatal("a progress write over the cap was stored")
	}
	if st := h.stats(time.Now()); st.OutputDropped != 2 || st.OutputRecords != 1 {
		h.t.Fatalf("after the second drop: dropped %d records %d; want 2, 1", st.OutputDropped, st.OutputRecords)
	}
	if got := h.jobOutput(o, fs[0]); got == nil || string(got.Output) != string(a.Output) {
		h.t.Fatalf("the record within the cap: %+v", got)
	}
}
