package backendtest

import (
	"errors"
	"time"

	"github.com/joblot/joblot/backend"
)

// quietTests cover backend.Quieter, on backends that implement it: an
// operator's quiet request reaches the process's heartbeat and Stats, and a
// process that says it is quiet shows as quiet.
func quietTests() []test {
	return []test{
		{name: "RequestReachesProcess", run: testQuietRequest},
		{name: "UnknownProcess", run: testQuietUnknown},
		{name: "ProcessSaysQuiet", run: testQuietSelf},
	}
}

func (h *harness) quieter() backend.Quieter {
	h.t.Helper()
	q, ok := h.b.(backend.Quieter)
	if !ok {
		h.t.Skip("the backend does not implement backend.Quieter")
	}
	return q
}

func (h *harness) quietRequested(q backend.Quieter, id string) bool {
	h.t.Helper()
	got, err := q.QuietRequested(h.ctx, id)
	if err != nil {
		h.t.Fatalf("QuietRequested(%s): %v", id, err)
	}
	return got
}

// procQuiet reports whether Stats lists process id, and as quiet.
func (h *harness) procQuiet(id string) (listed, quiet bool) {
	h.t.Helper()
	for _, p := range h.stats(time.Now()).Processes {
		if p.ID == id {
			return true, p.Quiet
		}
	}
	return false, false
}

func testQuietRequest(h *harness) {
	q := h.quieter()
	a, b := h.proc("pa", "default"), h.proc("pb", "default")
	if h.quietRequested(q, a) {
		h.t.Fatalf("a fresh process is asked to quiet")
	}
	if listed, quiet := h.procQuiet(a); !listed || quiet {
		h.t.Fatalf("Stats before the request: listed %v, quiet %v; want listed, not quiet", listed, quiet)
	}
	if err := q.RequestQuiet(h.ctx, a); err != nil {
		h.t.Fatalf("RequestQuiet(%s): %v", a, err)
	}
	if !h.quietRequested(q, a) {
		h.t.Fatalf("QuietRequested is false after RequestQuiet")
	}
	if h.quietRequested(q, b) {
		h.t.Fatalf("the request reached another process")
	}
	if listed, quiet := h.procQuiet(a); !listed || !quiet {
		h.t.Fatalf("Stats after the request: listed %v, quiet %v; want a quiet process", listed, quiet)
	}
	// The process's own beats (which do not say quiet yet) keep the mark.
	h.heartbeat(a, liveTTL, "default")
	if !h.quietRequested(q, a) {
		h.t.Fatalf("a heartbeat cleared the quiet request")
	}
	// A process that stopped is no longer found.
	if err := h.b.Deregister(h.ctx, a); err != nil {
		h.t.Fatalf("Deregister: %v", err)
	}
	if err := q.RequestQuiet(h.ctx, a); !errors.Is(err, backend.ErrProcessNotFound) {
		h.t.Fatalf("RequestQuiet of a stopped process: %v, want ErrProcessNotFound", err)
	}
}

func testQuietUnknown(h *harness) {
	q := h.quieter()
	if err := q.RequestQuiet(h.ctx, "nobody"); !errors.Is(err, backend.ErrProcessNotFound) {
		h.t.Fatalf("RequestQuiet of an unknown process: %v, want ErrProcessNotFound", err)
	}
	if h.quietRequested(q, "nobody") {
		h.t.Fatalf("an unknown process is asked to quiet")
	}
	if listed, _ := h.procQuiet("nobody"); listed {
		h.t.Fatalf("RequestQuiet of an unknown process registered it")
	}
}

func testQuietSelf(h *harness) {
	p := h.proc("pq", "default")
	info := backend.ProcessInfo{ID: p, Hostname: "host-" + p, PID: 4242, Queues: []string{"default"}, Concurrency: 10, StartedAt: time.Now(), Quiet: true}
	if err := h.b.Heartbeat(h.ctx, info, liveTTL); err != nil {
		h.t.Fatalf("Heartbeat(quiet): %v", err)
	}
	if listed, quiet := h.procQuiet(p); !listed || !quiet {
		h.t.Fatalf("Stats after a quiet heartbeat: listed %v, quiet %v; want a quiet process", listed, quiet)
	}
}
