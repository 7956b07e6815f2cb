package backend

import "testing"

func TestTransitionTable(t *testing.T) {
	P, F, S, X := StatePending, StateFailing, StateSucceeded, StateEnded
	cases := []struct {
		from   JobState
		ev     BatchEvent
		manual bool
		want   Effect
	}{
		{P, EventFailed, false, Effect{New: F, Dec: CounterPending, Inc: CounterFailing, WriteRetry: true}},
		{F, EventFailed, false, Effect{New: F, WriteRetry: true}},
		{S, EventFailed, false, Effect{New: S}},
		{X, EventFailed, false, Effect{New: X}},
		{X, EventFailed, true, Effect{New: F, Dec: CounterDead, Inc: CounterFailing, WriteRetry: true}},
		{P, EventSucceeded, false, Effect{New: S, Dec: CounterPending, Inc: CounterSucceeded}},
		{F, EventSucceeded, false, Effect{New: S, Dec: CounterFailing, Inc: CounterSucceeded}},
		{S, EventSucceeded, false, Effect{New: S}},
		{X, EventSucceeded, false, Effect{New: X}},
		{X, EventSucceeded, true, Effect{New: S, Dec: CounterDead, Inc: CounterSucceeded}},
		{P, EventDied, false, Effect{New: X, Dec: CounterPending, Inc: CounterDead, WriteDead: true, FirstDeath: true}},
		{F, EventDied, false, Effect{New: X, Dec: CounterFailing, Inc: CounterDead, WriteDead: true, FirstDeath: true}},
		{S, EventDied, false, Effect{New: S}},
		{X, EventDied, false, Effect{New: X}},
		{X, EventDied, true, Effect{New: X, WriteDead: true}},
		{P, EventDiscarded, false, Effect{New: X, Dec: CounterPending, Inc: CounterDiscarded}},
		{F, EventCancelled, false, Effect{New: X, Dec: CounterFailing, Inc: CounterCancelled}},
		{P, EventRemoved, false, Effect{New: X, Dec: CounterPending, Inc: CounterRemoved}},
		{S, EventCancelled, false, Effect{New: S}},
		{X, EventRemoved, false, Effect{New: X}},
		// A snooze moves nothing; only a stale duplicate is refused its
		// scheduled entry.
		{P, EventSnoozed, false, Effect{New: P, WriteRetry: true}},
		{F, EventSnoozed, false, Effect{New: F, WriteRetry: true}},
		{S, EventSnoozed, false, Effect{New: S}},
		{S, EventSnoozed, true, Effect{New: S}},
		{X, EventSnoozed, false, Effect{New: X}},
		{X, EventSnoozed, true, Effect{New: X, WriteRetry: true}},
	}
	for _, c := range cases {
		if got := Transition(c.from, c.ev, c.manual); got != c.want {
			t.Errorf("%v + event %d (manual %v) = %+v, want %+v", c.from, c.ev, c.manual, got, c.want)
		}
	}
}

func TestEventOfSnooze(t *testing.T) {
	if ev := EventOf(OutcomeSnoozed); ev != EventSnoozed {
		t.Fatalf("EventOf(OutcomeSnoozed) = %d, want EventSnoozed", ev)
	}
	if OutcomeSnoozed.String() != "snoozed" {
		t.Fatalf("OutcomeSnoozed.String() = %q", OutcomeSnoozed.String())
	}
}
