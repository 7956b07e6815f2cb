package backend

import (
	"strconv"
	"strings"
)

// BatchGate is what decides which of a batch's complete, settled and
// success callbacks fire: the batch's flags, the counters that matter and,
// per event, how many children have not yet acknowledged it. Due is the
// reference for the rule; the embedded store calls it, and the Redis
// scripts mirror it (backend/redis/lua/batchlib.lua, fire). A death fires
// on its own: the first P/F → X dead transition (Effect.FirstDeath).
type BatchGate struct {
	// Committed: the population is committed. Expired: it never was in
	// time. Cancelled: the batch is cancelled.
	Committed, Expired, Cancelled bool
	// Complete, Settled and Success say that event has fired already.
	Complete, Settled, Success bool
	// Total, Pending, Failing and Succeeded are the batch's own counters.
	Total, Pending, Failing, Succeeded int64
	// KidsComplete, KidsSettled and KidsSuccess count the children whose
	// complete, settled or success has not reached this batch yet: the
	// child's callback for it has not succeeded (a child without that
	// callback reports as it fires).
	KidsComplete, KidsSettled, KidsSuccess int64
}

// Due reports which callbacks fire now, given g; they fire in that order
// (complete, settled, success), so a batch is never settled before it is
// complete nor successful before it is settled:
//
//   - complete: committed, pending = 0 and every child's complete reached
//     this batch;
//   - settled: complete, and nothing pending or retrying (pending = 0 and
//     failing = 0: every job succeeded or ended, be it dead, discarded,
//     cancelled or removed), and every child's settled reached this batch
//     (a child is one member of its parent, as for complete and success),
//     or success fires now;
//   - success: complete, not cancelled, succeeded = total and every
//     child's success reached this batch.
//
// Each fires once: an event already fired is never due again, and nothing
// un-fires it (a dead job retried by hand after settled moves the
// counters, not the flag).
func (g BatchGate) Due() (complete, settled, success bool) {
	if !g.Committed || g.Expired {
		return false, false, false
	}
	isComplete := g.Complete
	if !isComplete && g.Pending == 0 && g.KidsComplete == 0 {
		complete, isComplete = true, true
	}
	if !isComplete {
		return complete, false, false
	}
	success = !g.Success && !g.Cancelled && g.Succeeded == g.Total && g.KidsSuccess == 0
	settled = !g.Settled && g.Pending == 0 && g.Failing == 0 && (g.KidsSettled == 0 || success)
	return complete, settled, success
}

// Summary says where the batch is in words, for people: the State, then
// what a batch whose complete fired still waits for, so that a complete
// batch with retrying jobs does not read as done: "complete, 548
// retrying", "complete, 3 pending, 2 retrying", "complete, settled",
// "complete, waiting for child batches", "cancelled, 40 pending",
// "running, 12 retrying". Success and expired stand alone. It holds only
// fixed words and numbers, so it needs no escaping.
func (s *BatchStatus) Summary() string {
	var b strings.Builder
	b.WriteString(string(s.State))
	part := func(n int64, what string) {
		if n > 0 {
			b.WriteString(", ")
			b.WriteString(strconv.FormatInt(n, 10))
			b.WriteString(what)
		}
	}
	switch s.State {
	case BatchPopulating, BatchRunning:
		part(s.Failing, " retrying")
	case BatchComplete, BatchCancelled:
		part(s.Pending, " pending")
		part(s.Failing, " retrying")
		if s.Pending > 0 || s.Failing > 0 || s.CompleteAt.IsZero() {
			break // a cancelled batch never committed never settles
		}
		// SettledAt is zero in a batch that settled before it had a
		// settled flag (written by an older joblot, with no event since):
		// without children, its counters say it is settled.
		if !s.SettledAt.IsZero() || len(s.Children) == 0 {
			b.WriteString(", settled")
		} else {
			b.WriteString(", waiting for child batches")
		}
	}
	return b.String()
}
