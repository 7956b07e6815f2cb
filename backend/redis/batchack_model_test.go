package redis

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// batchModel is batch accounting done by backend.Transition, the
// reference batch_ack.lua mirrors: each job's state, the counters, and
// each page's settled jobs (a page whose every job settled is dropped at
// the end of the call, and its jobs read as backend.DroppedPageState).
type batchModel struct {
	total    int64
	states   []backend.JobState
	counters [8]int64 // by backend.Counter
	settled  map[int64]int64
	dropped  map[int64]bool
}

func newBatchModel(total int64) *batchModel {
	m := &batchModel{total: total, states: make([]backend.JobState, total), settled: map[int64]int64{}, dropped: map[int64]bool{}}
	m.counters[backend.CounterPending] = total
	return m
}

// apply applies one call's events in order and returns the masks the
// script must give them (bit 1 retry entry, bit 2 dead entry; 3 outside
// the batch). The counters move once per call and never below zero, as
// the script moves them.
func (m *batchModel) apply(events []batchJobEvent) []byte {
	masks := make([]byte, len(events))
	var delta [8]int64
	var drops []int64 // a page settled in the call is dropped at its end
	defer func() {
		for c, d := range delta {
			m.counters[c] = max(0, m.counters[c]+d)
		}
		for _, p := range drops {
			m.dropped[p] = true
		}
	}()
	for k, e := range events {
		if e.index < 0 || e.index >= m.total {
			masks[k] = 3
			continue
		}
		page, _ := backend.BatchPageOf(e.index)
		old := m.states[e.index]
		if m.dropped[page] {
			old = backend.DroppedPageState
		}
		eff := backend.Transition(old, e.event, e.manual)
		if eff.WriteRetry {
			masks[k] |= 1
		}
		if eff.WriteDead {
			masks[k] |= 2
		}
		if m.dropped[page] {
			continue // a dropped page is never written: its events are all stale
		}
		m.states[e.index] = eff.New
		if eff.Changed() {
			delta[eff.Dec]--
			delta[eff.Inc]++
		}
		if eff.PageSettles() {
			m.settled[page]++
			if m.settled[page] >= backend.BatchPageSize {
				drops = append(drops, page)
			}
		}
	}
	return masks
}

// state is the state the store must report for the job at index.
func (m *batchModel) state(index int64) backend.JobState {
	if page, _ := backend.BatchPageOf(index); m.dropped[page] {
		return backend.DroppedPageState
	}
	return m.states[index]
}

// TestBatchAckMatchesTransition: random calls of events, most of them
// all successes (the script's fast paths), others any event on any job,
// some for jobs outside the batch, give the masks, counters, job states
// and dropped pages that backend.Transition gives. Three pages, so calls
// span pages, and pages settle and drop on the way.
func TestBatchAckMatchesTransition(t *testing.T) {
	ctx := context.Background()
	b, _ := openTest(t)
	const id = "model"
	total := int64(2*backend.BatchPageSize + 50)
	reservedBatch(t, b, id, total)
	model := newBatchModel(total)
	rng := rand.New(rand.NewPCG(1, 2))
	fail := &batchFailure{fingerprint: "fp", kind: "K", class: "E", message: "m", jobID: "j"}
	lastPage := total / backend.BatchPageSize
	// Calls 0-99 go over the batch with a moving front of random events;
	// 100-129 sweep it with successes in order, so that the first two
	// pages settle (deaths keep to the last page, as a dead job keeps its
	// page) and drop; 130-179 are random again, now partly on dropped
	// pages.
	for call := range 180 {
		n := 1 + rng.IntN(400)
		allSuccess := rng.IntN(10) < 7
		front := int64(call%100) * total / 90
		sweep := call >= 100 && call < 130
		if sweep {
			n, allSuccess, front = int(total/30)+1, true, int64(call-100)*(total/30+1)
		}
		events := make([]batchJobEvent, n)
		for k := range events {
			index := front + rng.Int64N(600) - 100
			if sweep {
				index = front + int64(k)
			} else if rng.IntN(50) == 0 {
				index = total + rng.Int64N(10) // beyond the batch
			}
			e := batchJobEvent{batch: id, index: index, event: backend.EventSucceeded}
			if !allSuccess {
				e.event = backend.BatchEvent(1 + rng.IntN(7))
				e.manual = rng.IntN(8) == 0
				if rng.IntN(40) == 0 {
					e.index = -1 // not a job of the batch
				}
				if p, _ := backend.BatchPageOf(max(e.index, 0)); e.event == backend.EventDied && p != lastPage {
					e.event = backend.EventFailed
				}
			}
			if e.event == backend.EventFailed || e.event == backend.EventDied {
				e.fail = fail
			}
			events[k] = e
		}
		// The backend sorts a call's events by page, keeping their order
		// within a page; the model takes them in that order too.
		ks := make([]int, n)
		for k := range ks {
			ks[k] = k
		}
		byPage(events, ks)
		sorted := make([]batchJobEvent, n)
		for i, k := range ks {
			sorted[i] = events[k]
		}
		want := model.apply(sorted)
		out, err := b.applyBatchEvents(ctx, sorted, time.Now())
		if err != nil {
			t.Fatalf("call %d: %v", call, err)
		}
		if string(out.masks) != string(want) {
			t.Fatalf("call %d (all successes %v): masks\n got %v\nwant %v", call, allSuccess, out.masks, want)
		}
		st, err := b.BatchStatus(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		got := [8]int64{0, st.Pending, st.Failing, st.Succeeded, st.Dead, st.Discarded, st.Cancelled, st.Removed}
		if got != model.counters {
			t.Fatalf("call %d (all successes %v): counters %v, want %v", call, allSuccess, got, model.counters)
		}
	}
	for i := range total {
		if got, want := jobState(t, b, id, i), model.state(i); got != want {
			t.Fatalf("job %d: state %v, want %v", i, got, want)
		}
	}
	if len(model.dropped) != 2 {
		t.Fatalf("pages dropped: %v, want the first two: the test does not reach the dropped-page paths", model.dropped)
	}
}
