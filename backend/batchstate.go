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
