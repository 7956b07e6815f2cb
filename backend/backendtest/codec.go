package backendtest

import (
	"bytes"

	"github.com/joblot/joblot/backend"
)

// codecTests check that fields written by a newer release survive every
// path that re-encodes a job in an older one: a rolling deploy must not strip
// what a new client wrote.
func codecTests() []test {
	return []test{
		{name: "UnknownFieldsSurviveRetryDeadAndRecovery", run: testUnknownFieldsSurvive},
	}
}

// newerFields are two encoded fields no release of the codec knows: field
// 99 (bytes, "hello") and field 98 (varint -7).
var newerFields = []byte{0xc7, 0x01, 5, 'h', 'e', 'l', 'l', 'o', 0xc4, 0x01, 0x0d}

func (h *harness) wantUnknown(what string, j *backend.Job) {
	h.t.Helper()
	if j == nil {
		h.t.Fatalf("%s: job missing", what)
	}
	if !bytes.Equal(j.UnknownFields, newerFields) {
		h.t.Fatalf("%s: UnknownFields = %x, want %x", what, j.UnknownFields, newerFields)
	}
}

func testUnknownFieldsSurvive(h *harness) {
	j := h.job("default")
	j.UnknownFields = bytes.Clone(newerFields)
	h.enqueue(j)

	p := h.proc("p1", "default")
	f := h.fetchOne(p, "default")
	h.wantUnknown("fetched", f.Job)
	if d, err := backend.DecodeJob(f.Raw); err != nil || !bytes.Equal(d.UnknownFields, newerFields) {
		h.t.Fatalf("stored payload lost the unknown fields: %+v, %v", d, err)
	}

	// A failed attempt re-encodes the job into the retry set.
	now := afterDoomed()
	h.complete(p, retryResult(f, now, defaultFailure()))
	h.wantUnknown("in the retry set", h.findJob(backend.SetRetry, "default", j.ID))
	h.moveDue(now)

	// A process dies holding it: recovery re-encodes it.
	doomed := h.doomedProc("doomed", "default")
	f = h.fetchOne(doomed, "default")
	h.wantUnknown("after a retry", f.Job)
	if n := h.recoverOrphans(afterDoomed()); n != 1 {
		h.t.Fatalf("RecoverOrphans = %d, want 1", n)
	}

	// It dies, and an operator retries it from the dead set.
	f = h.fetchOne(p, "default")
	h.wantUnknown("after recovery", f.Job)
	h.complete(p, deadResult(f, now, defaultFailure()))
	h.wantUnknown("in the dead set", h.findJob(backend.SetDead, "default", j.ID))
	if res, err := h.b.RetryJobs(h.ctx, backend.RetryJobsParams{Set: backend.SetDead, Queue: "default", IDs: []string{j.ID}}); err != nil || res.Retried != 1 {
		h.t.Fatalf("RetryJobs(dead) = %d, %v", res.Retried, err)
	}
	h.wantUnknown("retried from the dead set", h.fetchOne(p, "default").Job)
}
