package backend

// This file is the reference for batch accounting (docs/batch-states.md
// explains the table and why it is shaped so). The Redis
// backend implements the same table in Lua (backend/redis/lua); the bolt
// backend calls Transition directly. The conformance suite checks both.

// JobState is the 2-bit state a batch keeps for each of its jobs.
type JobState uint8

const (
	// StatePending (P): no attempt has finished yet. The zero value, so a
	// freshly allocated bit string reads as all pending.
	StatePending JobState = 0
	// StateFailing (F): an attempt failed and a retry is scheduled.
	StateFailing JobState = 1
	// StateSucceeded (S): an attempt succeeded.
	StateSucceeded JobState = 2
	// StateEnded (X): ended without success (dead, discarded, cancelled or
	// removed). The reason lives in the counters, not in the bits.
	StateEnded JobState = 3
)

// String returns the state's one-letter name (P, F, S, X), as in the
// table of Transition.
func (s JobState) String() string { return [...]string{"P", "F", "S", "X"}[s&3] }

// BatchEvent is what happened to one job of a batch.
type BatchEvent uint8

const (
	// EventFailed: an attempt failed and a retry is due.
	EventFailed BatchEvent = iota + 1
	// EventSucceeded: an attempt succeeded.
	EventSucceeded
	// EventDied: retries exhausted, or the job was killed.
	EventDied
	// EventDiscarded: the worker discarded the job.
	EventDiscarded
	// EventCancelled: the job was skipped because its batch is cancelled.
	EventCancelled
	// EventRemoved: an operator removed the job.
	EventRemoved
	// EventSnoozed: the worker snoozed the job (joblot.JobSnooze). No
	// attempt finished, so the job keeps its state; the event only asks
	// whether the snoozed copy may be scheduled (Effect.WriteRetry): not
	// for a stale duplicate of a job its batch already counts as
	// succeeded or ended.
	EventSnoozed
)

// Counter names one of a batch's counters. Their sum is the batch's total.
type Counter uint8

const (
	CounterNone Counter = iota
	CounterPending
	CounterFailing
	CounterSucceeded
	CounterDead
	CounterDiscarded
	CounterCancelled
	CounterRemoved
)

// CounterNames are the field names backends use for the counters, indexed by
// Counter. They are part of the stored layout.
var CounterNames = [...]string{"", "pending", "failing", "succeeded", "dead", "discarded", "cancelled", "removed"}

// Effect is the outcome of applying a BatchEvent to one job's state.
type Effect struct {
	// New is the job's state after the event; equal to the old state when
	// the event is stale.
	New JobState
	// Dec and Inc are the counters that move by one (CounterNone: none).
	Dec, Inc Counter
	// WriteRetry and WriteDead tell the caller whether the queue side may
	// write the retry or dead entry (for EventSnoozed, WriteRetry allows
	// the scheduled entry). A stale duplicate writes neither.
	WriteRetry, WriteDead bool
	// FirstDeath is true when this is a P/F → X dead transition; the batch
	// fires its death callback the first time it sees one.
	FirstDeath bool
}

// Changed reports whether the event was a real transition (counters move).
func (e Effect) Changed() bool { return e.Dec != CounterNone || e.Inc != CounterNone }

// Transition applies ev to a job in state old. manual says the job's payload
// marks it as an operator's retry of a dead job (Job.ManualRetry).
//
//	event \ from      P          F          S                  X
//	failed            F          F          S (stale)          F if manual, else stale
//	succeeded         S          S          S (no count)       S (dead-1) if manual, else stale
//	died              X dead     X dead     S (stale)          X (no count; dead entry rewritten if manual)
//	discarded etc.    X reason   X reason   S                  X
//	snoozed           P          F          S (stale)          X if manual, else stale
//
// A snooze never changes the state or a counter: the job has not finished
// an attempt. It writes its scheduled entry except as a stale duplicate.
func Transition(old JobState, ev BatchEvent, manual bool) Effect {
	from := stateCounter(old)
	switch ev {
	case EventFailed:
		switch old {
		case StatePending:
			return Effect{New: StateFailing, Dec: from, Inc: CounterFailing, WriteRetry: true}
		case StateFailing:
			return Effect{New: StateFailing, WriteRetry: true}
		case StateEnded:
			if manual {
				return Effect{New: StateFailing, Dec: CounterDead, Inc: CounterFailing, WriteRetry: true}
			}
		}
	case EventSucceeded:
		switch old {
		case StatePending, StateFailing:
			return Effect{New: StateSucceeded, Dec: from, Inc: CounterSucceeded}
		case StateEnded:
			if manual {
				return Effect{New: StateSucceeded, Dec: CounterDead, Inc: CounterSucceeded}
			}
		}
	case EventDied:
		switch old {
		case StatePending, StateFailing:
			return Effect{New: StateEnded, Dec: from, Inc: CounterDead, WriteDead: true, FirstDeath: true}
		case StateEnded:
			return Effect{New: StateEnded, WriteDead: manual}
		}
	case EventDiscarded, EventCancelled, EventRemoved:
		if old == StatePending || old == StateFailing {
			return Effect{New: StateEnded, Dec: from, Inc: endCounter(ev)}
		}
	case EventSnoozed:
		if old == StatePending || old == StateFailing || (old == StateEnded && manual) {
			return Effect{New: old, WriteRetry: true}
		}
	}
	return Effect{New: old}
}

func stateCounter(s JobState) Counter {
	switch s {
	case StatePending:
		return CounterPending
	case StateFailing:
		return CounterFailing
	case StateSucceeded:
		return CounterSucceeded
	}
	return CounterNone // X: the reason is not in the bits
}

func endCounter(ev BatchEvent) Counter {
	switch ev {
	case EventDiscarded:
		return CounterDiscarded
	case EventCancelled:
		return CounterCancelled
	}
	return CounterRemoved
}

// EventOf is the batch event an outcome is for the job's batch (0: none;
// a requeued job has not finished an attempt).
func EventOf(o Outcome) BatchEvent {
	switch o {
	case OutcomeSucceeded:
		return EventSucceeded
	case OutcomeRetry:
		return EventFailed
	case OutcomeDead:
		return EventDied
	case OutcomeDiscarded:
		return EventDiscarded
	case OutcomeCancelled:
		return EventCancelled
	case OutcomeSnoozed:
		return EventSnoozed
	}
	return 0
}

// BatchPageSize is how many jobs one page of a batch's job states holds.
// A batch keeps its 2-bit states in pages of this many jobs, each with a
// count of its settled jobs, and drops a page once all of its jobs are
// settled (PageSettles), keeping one "page done" bit for it: a batch costs
// bits for the pages that still have work, not for its whole population.
// About 4,000 jobs (1 KiB) balances two costs: a page is held by its
// slowest job, so smaller pages free more of a mostly-done batch; but each
// page costs a key or record of its own (about 70 bytes in Redis, 7 % of
// 1 KiB) and an ack call pays one write per page it touches, so larger
// pages keep a call of consecutive jobs on one or two pages. 4,064 rather
// than 4,096: its 1,016 bytes of bits, the 2-byte count and Redis's string
// header fill one 1,024-byte allocation exactly, where 4,096 jobs would
// take the allocator's next size class (1,280 bytes, a quarter more). The
// size is recorded with each paged batch, so a later change of it leaves
// existing batches readable. Part of the stored layout.
const BatchPageSize = 4064

// BatchPageOf returns the page holding the job at dense index and the
// job's slot in it.
func BatchPageOf(index int64) (page, slot int64) {
	return index / BatchPageSize, index % BatchPageSize
}

// DroppedPageState is the state every job of a dropped page reads as.
// A page is dropped only when each of its jobs succeeded or ended without
// dying (PageSettles), so S is exact for the succeeded ones, and for the
// discarded, cancelled or removed ones Transition gives S and X the same
// effect for every event not marked manual (all stale: no counter moves,
// no retry or dead entry is written). Only a manual retry of a dead job
// tells S from X, and a page holding a dead job is kept for that reason.
const DroppedPageState = StateSucceeded

// PageSettles reports whether e settles its job for its page: the job
// moved into a state its page need not remember (succeeded, or ended by
// a discard, cancel or removal). A page whose every job has settled is
// dropped. A job that died is not settled: an operator may retry it from
// the dead set, and the batch then needs its bits to tell that retry's
// first ack (dead −1) from a duplicate of it. Settled jobs never
// unsettle: from S every event is stale, and an ended job that did not
// die is not in the dead set to be retried by hand.
func (e Effect) PageSettles() bool {
	switch e.Inc {
	case CounterSucceeded, CounterDiscarded, CounterCancelled, CounterRemoved:
		return true
	}
	return false
}
