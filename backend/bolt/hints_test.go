package bolt_test

import (
	"testing"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/bolt"
)

// TestInFlightHintFillsCommits: the embedded store asks a server with the
// default concurrency to hold more jobs than it runs, so that each group
// commit carries many claims and acks (see bolt.InFlightTarget).
func TestInFlightHintFillsCommits(t *testing.T) {
	be := openBench(t, true)
	var b backend.Backend = be
	h, ok := b.(backend.InFlightHinter)
	if !ok {
		t.Fatal("bolt.Backend does not implement backend.InFlightHinter")
	}
	if got := h.InFlightHint(); got != bolt.InFlightTarget || got <= 2*joblot.DefaultConcurrency {
		t.Fatalf("InFlightHint() = %d, want bolt.InFlightTarget (%d), well above the default concurrency", got, bolt.InFlightTarget)
	}
}
