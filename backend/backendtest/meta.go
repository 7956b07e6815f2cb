package backendtest

import (
	"bytes"
	"maps"
	"time"

	"github.com/joblot/joblot/backend"
)

// metaTests check that a job's metadata and trace context (backend.Job.Meta,
// TraceContext) travel with it through every path that stores or re-encodes
// it: enqueue, schedule, retry, recovery, the dead set, a manual retry from
// it, a snooze and a batch.
func metaTests() []test {
	return []test{
		{name: "EnqueueFetch", run: testMetaEnqueueFetch},
		{name: "Scheduled", run: testMetaScheduled},
		{name: "RetryRecoveryDeadAndManualRetry", run: testMetaLifecycle},
		{name: "Snoozed", run: testMetaSnoozed},
		{name: "BatchJob", run: testMetaBatchJob},
		{name: "EmptyMetaCostsNothing", run: testMetaEmptyCostsNothing},
	}
}

// testTraceContext is a W3C traceparent in binary form (version, 16-byte
// trace id, 8-byte span id, flags) followed by a short tracestate.
var testTraceContext = append([]byte{0,
	0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36,
	0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7,
	0x01}, "rojo=00f067aa0ba902b7"...)

// metaJob is a fresh job carrying metadata (with a key and a value that
// are not plain ASCII, and an empty value) and a trace context.
func (h *harness) metaJob(queue string) *backend.Job {
	j := h.job(queue)
	j.Meta = map[string]string{"tenant": "acme", "request_id": "r-42", "note": "héllo\x00\n", "empty": ""}
	j.TraceContext = backend.TraceContext(testTraceContext)
	return j
}

// wantMeta fails unless j carries want's metadata and trace context.
func (h *harness) wantMeta(what string, j, want *backend.Job) {
	h.t.Helper()
	if j == nil {
		h.t.Fatalf("%s: job %s missing", what, want.ID)
	}
	if !maps.Equal(j.Meta, want.Meta) {
		h.t.Fatalf("%s: Meta = %q, want %q", what, j.Meta, want.Meta)
	}
	if j.TraceContext != want.TraceContext {
		h.t.Fatalf("%s: TraceContext = %x, want %x", what, j.TraceContext, want.TraceContext)
	}
}

func testMetaEnqueueFetch(h *harness) {
	j := h.metaJob("default")
	h.enqueue(j)
	h.wantMeta("listed in the queue", h.findJob(backend.SetQueued, "default", j.ID), j)
	f := h.fetchOne(h.proc("p1", "default"), "default")
	h.wantJob("fetched", f.Job, j)
	d, err := backend.DecodeJob(f.Raw)
	if err != nil {
		h.t.Fatalf("decode Raw: %v", err)
	}
	h.wantMeta("stored payload", d, j)
}

func testMetaScheduled(h *harness) {
	j := h.metaJob("default")
	j.RunAt = time.Now().Add(time.Hour)
	h.enqueue(j)
	h.wantMeta("in the scheduled set", h.findJob(backend.SetScheduled, "default", j.ID), j)
	h.moveDue(time.Now().Add(2 * time.Hour))
	h.wantMeta("due", h.fetchOne(h.proc("p1", "default"), "default").Job, j)
}

func testMetaLifecycle(h *harness) {
	j := h.metaJob("default")
	h.enqueue(j)
	p := h.proc("p1", "default")
	f := h.fetchOne(p, "default")

	// A failed attempt re-encodes the job into the retry set.
	now := afterDoomed()
	h.complete(p, retryResult(f, now, defaultFailure()))
	h.wantMeta("in the retry set", h.findJob(backend.SetRetry, "default", j.ID), j)
	h.moveDue(now)

	// A process dies holding it: recovery re-encodes it.
	doomed := h.doomedProc("doomed", "default")
	h.wantMeta("after a retry", h.fetchOne(doomed, "default").Job, j)
	if n := h.recoverOrphans(afterDoomed()); n != 1 {
		h.t.Fatalf("RecoverOrphans = %d, want 1", n)
	}

	// It dies, and an operator retries it from the dead set.
	f = h.fetchOne(p, "default")
	h.wantMeta("after recovery", f.Job, j)
	if f.Recoveries != 1 {
		h.t.Fatalf("Recoveries = %d after a recovery, want 1", f.Recoveries)
	}
	h.complete(p, deadResult(f, time.Now(), defaultFailure()))
	h.wantMeta("in the dead set", h.findJob(backend.SetDead, "default", j.ID), j)
	if res, err := h.b.RetryJobs(h.ctx, backend.RetryJobsParams{Set: backend.SetDead, Queue: "default", IDs: []string{j.ID}}); err != nil || res.Retried != 1 {
		h.t.Fatalf("RetryJobs(dead) = %d, %v; want 1", res.Retried, err)
	}
	f = h.fetchOne(p, "default")
	h.wantMeta("retried from the dead set", f.Job, j)
	if !f.ManualRetry {
		h.t.Fatal("a job retried from the dead set is not marked ManualRetry")
	}
}

func testMetaSnoozed(h *harness) {
	j := h.metaJob("default")
	h.enqueue(j)
	p := h.proc("p1", "default")
	f := h.fetchOne(p, "default")
	at := time.Now().Add(time.Hour)
	h.complete(p, snoozeResult(f, at))
	h.wantMeta("snoozed", h.findJob(backend.SetScheduled, "default", j.ID), j)
	h.moveDue(at)
	h.wantMeta("after its snooze", h.fetchOne(p, "default").Job, j)
}

func testMetaBatchJob(h *harness) {
	id := h.createBatch("", allEvents...)
	j := h.metaJob(batchQueue)
	if err := h.b.AddToBatch(h.ctx, &backend.BatchAdd{BatchID: id, Jobs: []*backend.Job{j}}); err != nil {
		h.t.Fatalf("AddToBatch: %v", err)
	}
	h.commit(id)
	p := h.proc("p1", batchQueue)
	f := h.fetchOne(p, batchQueue)
	h.wantMeta("batch job", f.Job, j)
	now := time.Now()
	h.complete(p, retryResult(f, now, defaultFailure()))
	h.moveDue(now)
	h.wantMeta("batch job after a retry", h.fetchOne(p, batchQueue).Job, j)
}

// A job without metadata stores exactly the bytes it stored before
// metadata existed, whether Meta is nil or an empty map.
func testMetaEmptyCostsNothing(h *harness) {
	plain := h.job("default")
	empty := h.job("default")
	empty.Meta = map[string]string{}
	h.enqueue(plain, empty)
	p := h.proc("p1", "default")
	for _, f := range h.fetch(p, []string{"default"}, 2) {
		want := plain
		if f.ID == empty.ID {
			want = empty
		}
		bare := *want
		bare.Meta = nil
		raw, _ := bare.MarshalBinary()
		if !bytes.Equal(f.Raw, raw) {
			h.t.Fatalf("job %s stored as %x, want %x (no metadata bytes)", f.ID, f.Raw, raw)
		}
		if len(f.Meta) != 0 || f.TraceContext != "" {
			h.t.Fatalf("job %s fetched with Meta %q, TraceContext %x", f.ID, f.Meta, f.TraceContext)
		}
	}
}
