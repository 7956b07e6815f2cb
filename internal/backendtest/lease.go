package backendtest

import (
	"time"
)

// leaseTests cover named leases: one holder at a time, extension by the
// holder, expiry. Lease TTLs run on the backend's clock, so the expiry test
// waits (briefly, polling) for real time to pass.
func leaseTests() []test {
	return []test{
		{name: "Exclusive", run: testLeaseExclusive},
		{name: "HolderExtends", run: testLeaseExtend},
		{name: "Expires", run: testLeaseExpires},
		{name: "NamesIndependent", run: testLeaseNames},
	}
}

func (h *harness) lease(name, holder string, ttl time.Duration) bool {
	h.t.Helper()
	ok, err := h.b.Lease(h.ctx, name, holder, ttl)
	if err != nil {
		h.t.Fatalf("Lease(%s, %s): %v", name, holder, err)
	}
	return ok
}

func testLeaseExclusive(h *harness) {
	if !h.lease("mover", "a", time.Hour) {
		h.t.Fatalf("a did not get a free lease")
	}
	if h.lease("mover", "b", time.Hour) {
		h.t.Fatalf("b got a lease a holds")
	}
	if !h.lease("mover", "a", time.Hour) {
		h.t.Fatalf("a lost its own lease on renewal")
	}
	if h.lease("mover", "b", time.Hour) {
		h.t.Fatalf("b got a lease a renewed")
	}
}

func testLeaseExtend(h *harness) {
	if !h.lease("trim", "a", 300*time.Millisecond) {
		h.t.Fatalf("a did not get a free lease")
	}
	if !h.lease("trim", "a", time.Hour) {
		h.t.Fatalf("a could not extend its lease")
	}
	time.Sleep(400 * time.Millisecond) // past the first TTL, well within the extension
	if h.lease("trim", "b", time.Hour) {
		h.t.Fatalf("b got a lease that a had extended")
	}
}

func testLeaseExpires(h *harness) {
	if !h.lease("recover", "a", 50*time.Millisecond) {
		h.t.Fatalf("a did not get a free lease")
	}
	deadline := time.Now().Add(5 * time.Second)
	for !h.lease("recover", "b", time.Hour) {
		if time.Now().After(deadline) {
			h.t.Fatalf("b never got a's lease after it expired")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if h.lease("recover", "a", time.Hour) {
		h.t.Fatalf("a got the lease back while b holds it")
	}
}

func testLeaseNames(h *harness) {
	if !h.lease("one", "a", time.Hour) || !h.lease("two", "b", time.Hour) {
		h.t.Fatalf("leases of different names are not independent")
	}
}
