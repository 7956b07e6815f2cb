package backendtest

import (
	"errors"

	"github.com/joblot/joblot/backend"
)

// stopTests cover backend.Stopper, on backends that implement it: an
// operator's stop request reaches that process's heartbeat only, and an
// unknown or departed process is not found.
func stopTests() []test {
	return []test{
		{name: "RequestReachesProcess", run: testStopRequest},
		{name: "UnknownProcess", run: testStopUnknown},
	}
}

func (h *harness) stopper() backend.Stopper {
	h.t.Helper()
	s, ok := h.b.(backend.Stopper)
	if !ok {
		h.t.Skip("the backend does not implement backend.Stopper")
	}
	return s
}

func (h *harness) stopRequested(s backend.Stopper, id string) bool {
	h.t.Helper()
	got, err := s.StopRequested(h.ctx, id)
	if err != nil {
		h.t.Fatalf("StopRequested(%s): %v", id, err)
	}
	return got
}

func testStopRequest(h *harness) {
	s := h.stopper()
	a, b := h.proc("sa", "default"), h.proc("sb", "default")
	if h.stopRequested(s, a) {
		h.t.Fatalf("a fresh process is asked to stop")
	}
	if err := s.RequestStop(h.ctx, a); err != nil {
		h.t.Fatalf("RequestStop(%s): %v", a, err)
	}
	if !h.stopRequested(s, a) {
		h.t.Fatalf("StopRequested is false after RequestStop")
	}
	if h.stopRequested(s, b) {
		h.t.Fatalf("the request reached another process")
	}
	if q, ok := h.b.(backend.Quieter); ok && h.quietRequested(q, a) {
		h.t.Fatalf("a stop request reads as a quiet request")
	}
	if rr, ok := h.b.(backend.ProcessRequestsReader); ok {
		h.wantRequests(rr, a, backend.ProcessRequests{Stop: true})
		h.wantRequests(rr, b, backend.ProcessRequests{})
		h.wantRequests(rr, "nobody", backend.ProcessRequests{})
		if q, ok := h.b.(backend.Quieter); ok {
			if err := q.RequestQuiet(h.ctx, b); err != nil {
				h.t.Fatalf("RequestQuiet(%s): %v", b, err)
			}
			h.wantRequests(rr, b, backend.ProcessRequests{Quiet: true})
		}
	}
	// The process's own beats keep the mark until it has read it and left.
	h.heartbeat(a, liveTTL, "default")
	if !h.stopRequested(s, a) {
		h.t.Fatalf("a heartbeat cleared the stop request")
	}
	if err := h.b.Deregister(h.ctx, a); err != nil {
		h.t.Fatalf("Deregister: %v", err)
	}
	if err := s.RequestStop(h.ctx, a); !errors.Is(err, backend.ErrProcessNotFound) {
		h.t.Fatalf("RequestStop of a stopped process: %v, want ErrProcessNotFound", err)
	}
}

// wantRequests checks ProcessRequests(id), the one-call read of both.
func (h *harness) wantRequests(rr backend.ProcessRequestsReader, id string, want backend.ProcessRequests) {
	h.t.Helper()
	got, err := rr.ProcessRequests(h.ctx, id)
	if err != nil {
		h.t.Fatalf("ProcessRequests(%s): %v", id, err)
	}
	if got != want {
		h.t.Fatalf("ProcessRequests(%s) = %+v, want %+v", id, got, want)
	}
}

func testStopUnknown(h *harness) {
	s := h.stopper()
	if err := s.RequestStop(h.ctx, "nobody"); !errors.Is(err, backend.ErrProcessNotFound) {
		h.t.Fatalf("RequestStop of an unknown process: %v, want ErrProcessNotFound", err)
	}
	if h.stopRequested(s, "nobody") {
		h.t.Fatalf("an unknown process is asked to stop")
	}
}
