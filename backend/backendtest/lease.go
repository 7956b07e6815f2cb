package backendtest

import (
	"time"

	"github.com/joblot/joblot/backend"
)

// leaseTests cover named leases: one holder at a time, extension by the
// holder, expiry. Lease TTLs run on the backend's clock, so the expiry tests
// wait (polling, with a generous deadline) for real time to pass; no test
// depends on how long a step takes.
func leaseTests() []test {
	return []test{
		{name: "Exclusive", run: testLeaseExclusive},
		{name: "HolderExtends", run: testLeaseExtend},
		{name: "Expires", run: testLeaseExpires},
		{name: "NamesIndependent", run: testLeaseNames},
		{name: "HolderGivesUp", run: testLeaseGiveUp},
	}
}

func (h *harness) lease(name, holder string, ttl time.Duration) bool {
	h.t.Helper()
	res, err := h.b.Lease(h.ctx, backend.LeaseParams{Name: name, Holder: holder, TTL: ttl})
	ok := res.Held
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

// testLeaseExtend checks that the holder's renewal replaces its first, short
// TTL. A probe lease with the same short TTL, taken after the first one,
// tells when that TTL has passed on the backend's own clock: once another
// holder can take the probe, it could have taken an unextended lease too.
func testLeaseExtend(h *harness) {
	const short = 300 * time.Millisecond
	if !h.lease("trim", "a", short) {
		h.t.Fatalf("a did not get a free lease")
	}
	if !h.lease("probe", "a", short) {
		h.t.Fatalf("a did not get a free probe lease")
	}
	if !h.lease("trim", "a", time.Hour) {
		h.t.Fatalf("a could not extend its lease")
	}
	h.waitFor("the probe lease expires", func() bool { return h.lease("probe", "b", time.Hour) })
	if h.lease("trim", "b", time.Hour) {
		h.t.Fatalf("b got a lease that a had extended")
	}
}

func testLeaseExpires(h *harness) {
	if !h.lease("recover", "a", 50*time.Millisecond) {
		h.t.Fatalf("a did not get a free lease")
	}
	h.waitFor("b gets a's lease after it expired", func() bool { return h.lease("recover", "b", time.Hour) })
	if h.lease("recover", "a", time.Hour) {
		h.t.Fatalf("a got the lease back while b holds it")
	}
}

func testLeaseNames(h *harness) {
	if !h.lease("one", "a", time.Hour) || !h.lease("two", "b", time.Hour) {
		h.t.Fatalf("leases of different names are not independent")
	}
}

// testLeaseGiveUp checks that a zero TTL frees the holder's lease at once
// (a quiet process hands its duties over) and that nobody else can free it.
func testLeaseGiveUp(h *harness) {
	if !h.lease("duties", "a", time.Hour) {
		h.t.Fatalf("a did not get a free lease")
	}
	if h.lease("duties", "b", 0) {
		h.t.Fatalf("giving up a lease one does not hold reported it held")
	}
	if h.lease("duties", "b", time.Hour) {
		h.t.Fatalf("b freed a's lease by giving it up")
	}
	if h.lease("duties", "a", 0) {
		h.t.Fatalf("giving up a lease reported it held")
	}
	if !h.lease("duties", "b", time.Hour) {
		h.t.Fatalf("b could not take the lease a gave up")
	}
}
