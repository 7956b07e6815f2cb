package backendtest

import (
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/joblot/joblot/backend"
)

// ruleTests hold every backend to the decisions made once in package
// backend: what a poison pill records, how an error sample is cut, which
// batch specs are refused.
func ruleTests() []test {
	return []test{
		{name: "PoisonPillRecordGroups", run: testPoisonPillRecord},
		{name: "ErrorSampleCutOnRuneBoundary", run: testErrorSampleRuneBoundary},
		{name: "InvalidBatchSpecsRefused", run: testInvalidBatchSpecs},
	}
}

func testPoisonPillRecord(h *harness) {
	j := h.job("default")
	h.enqueue(j)
	for round := 1; round <= backend.MaxRecoveries; round++ {
		p := h.doomedProc("crashy-"+string(rune('0'+round)), "default")
		h.fetchOne(p, "default")
		if n := h.recoverOrphans(afterDoomed()); n != 1 {
			h.t.Fatalf("round %d: RecoverOrphans = %d, want 1", round, n)
		}
	}
	d := h.findJob(backend.SetDead, "default", j.ID)
	if d == nil {
		h.t.Fatalf("poison pill not in the dead set")
	}
	want := backend.FallbackFingerprint(j.Kind, backend.PoisonPillClass)
	if d.ErrorClass != backend.PoisonPillClass || d.ErrorFingerprint != want || d.ErrorMessage != backend.PoisonPillMessage {
		h.t.Fatalf("poison pill recorded class %q, fingerprint %q, message %q; want %q, %q, %q",
			d.ErrorClass, d.ErrorFingerprint, d.ErrorMessage, backend.PoisonPillClass, want, backend.PoisonPillMessage)
	}
	if d.FailedAt.IsZero() || d.DiedAt.IsZero() {
		h.t.Fatalf("poison pill FailedAt %v, DiedAt %v: want both set", d.FailedAt, d.DiedAt)
	}
	// Counted as any death: one processed attempt, one recorded failure.
	if s := h.stats(time.Now()); s.Processed != 1 || s.Failed != 1 {
		h.t.Fatalf("after a poison pill: Processed %d, Failed %d; want 1 and 1 on every backend", s.Processed, s.Failed)
	}
}

func testErrorSampleRuneBoundary(h *harness) {
	// "é" is two bytes, so after one ASCII byte the sample limit falls in
	// the middle of a rune.
	msg := "x" + strings.Repeat("é", backend.ErrorSampleBytes)
	id, _ := h.committedBatch(1)
	fl := failure{class: "*app.Err", message: msg, fingerprint: "fp-utf8"}
	h.runBatchJobs(func(_ int, f *backend.Fetched) backend.Result {
		return deadResult(f, time.Now(), fl)
	})
	st := h.status(id)
	if len(st.ErrorGroups) != 1 {
		h.t.Fatalf("error groups = %+v, want 1", st.ErrorGroups)
	}
	g := st.ErrorGroups[0].Message
	if !utf8.ValidString(g) || len(g) > backend.ErrorSampleBytes || len(g) < backend.ErrorSampleBytes-utf8.UTFMax || !strings.HasPrefix(msg, g) {
		h.t.Fatalf("sample of %d bytes (valid UTF-8: %v): want a valid prefix of at most %d bytes, cut at most one rune short",
			len(g), utf8.ValidString(g), backend.ErrorSampleBytes)
	}
}

func testInvalidBatchSpecs(h *harness) {
	good := func() *backend.BatchSpec { return h.batchSpec("", backend.CallbackSuccess) }
	cases := map[string]func(s *backend.BatchSpec){
		"no ID":               func(s *backend.BatchSpec) { s.ID = "" },
		"its own parent":      func(s *backend.BatchSpec) { s.ParentID = s.ID },
		"unknown event":       func(s *backend.BatchSpec) { s.Callbacks["finished"] = callbackTemplate(backend.CallbackSuccess) },
		"callback sans kind":  func(s *backend.BatchSpec) { s.Callbacks[backend.CallbackSuccess].Kind = "" },
		"callback sans queue": func(s *backend.BatchSpec) { s.Callbacks[backend.CallbackSuccess].Queue = "" },
	}
	for what, spoil := range cases {
		s := good()
		spoil(s)
		err := h.b.CreateBatch(h.ctx, s)
		if !errors.Is(err, backend.ErrInvalidBatchSpec) {
			h.t.Fatalf("CreateBatch with %s = %v, want ErrInvalidBatchSpec", what, err)
		}
		if s.ID == "" {
			continue
		}
		if _, err := h.b.BatchStatus(h.ctx, s.ID); !errors.Is(err, backend.ErrBatchNotFound) {
			h.t.Fatalf("after refusing a spec with %s, BatchStatus = %v, want ErrBatchNotFound", what, err)
		}
	}
	// A scheduled callback template runs when fired, not at its RunAt.
	s := good()
	s.Callbacks[backend.CallbackSuccess].RunAt = time.Now().Add(24 * time.Hour)
	h.create(s)
	h.commit(s.ID)
	cbs := h.fetchCallbacks()
	if len(cbs) != 1 || !cbs[0].Job.RunAt.IsZero() {
		h.t.Fatalf("fired callbacks = %d (RunAt kept: %v), want the success callback, queued now", len(cbs), len(cbs) == 1 && !cbs[0].Job.RunAt.IsZero())
	}
}
