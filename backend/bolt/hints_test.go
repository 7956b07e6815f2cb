package bolt_test

import (
	"testing"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/bolt"
)

// TestInFlightHintFillsCommits: the embedded store asks a server with the
// default concurrency to hold more jobs than it runs, so that each group
// commit carries many claims and acks (see bolt.InFlightTarget). A fresh
// store times a few commits to size the hint; how long they took depends
// on the machine, so only the bounds are checked here (the sizing itself
// is TestInFlightHintSizedToCommitTime's, on injected times).
func TestInFlightHintFillsCommits(t *testing.T) {
	be := openBench(t, true)
	var b backend.Backend = be
	h, ok := b.(backend.InFlightHinter)
	if !ok {
		t.Fatal("bolt.Backend does not implement backend.InFlightHinter")
	}
	got := h.InFlightHint()
	if got < bolt.InFlightTarget || got > bolt.MaxInFlightHint || got <= 2*joblot.DefaultConcurrency {
		t.Fatalf("InFlightHint() = %d, want within [bolt.InFlightTarget (%d), bolt.MaxInFlightHint (%d)], well above the default concurrency", got, bolt.InFlightTarget, bolt.MaxInFlightHint)
	}
	if c := be.CommitStats().Commits; c < 3 {
		t.Fatalf("InFlightHint on a fresh store made %d commits, want at least 3 timed", c)
	}
}
