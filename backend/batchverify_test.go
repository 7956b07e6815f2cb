package backend

import "testing"

// PlanBatchRepair's rule, cell by cell: where the job is found against its
// bits, and the counters recounted from the bits.
func TestPlanBatchRepair(t *testing.T) {
	const (
		P, F, S, X = StatePending, StateFailing, StateSucceeded, StateEnded
	)
	for _, c := range []struct {
		name      string
		states    []JobState
		counters  [8]int64
		found     map[int64]JobSet
		committed bool
		problems  []BatchProblemKind
		want      [8]int64
		changes   []StateChange
		death     bool
	}{
		{name: "clean", states: []JobState{P, F, S, X}, counters: [8]int64{4, 1, 1, 1, 1, 0, 0, 0},
			found: map[int64]JobSet{0: SetQueued, 1: SetRetry, 3: SetDead}, committed: true,
			want: [8]int64{4, 1, 1, 1, 1, 0, 0, 0}},
		{name: "lost", states: []JobState{P, F, S}, counters: [8]int64{3, 1, 1, 1, 0, 0, 0, 0}, committed: true,
			problems: []BatchProblemKind{ProblemLostJob, ProblemLostJob},
			want:     [8]int64{3, 0, 0, 1, 0, 0, 0, 2}, changes: []StateChange{{0, X, true}, {1, X, true}}},
		{name: "lost, uncommitted: reported only", states: []JobState{P}, counters: [8]int64{1, 1, 0, 0, 0, 0, 0, 0},
			problems: []BatchProblemKind{ProblemLostJob}, want: [8]int64{1, 1, 0, 0, 0, 0, 0, 0}},
		{name: "retry from X takes from dead", states: []JobState{X}, counters: [8]int64{1, 0, 0, 0, 1, 0, 0, 0},
			found: map[int64]JobSet{0: SetRetry}, committed: true,
			problems: []BatchProblemKind{ProblemRetryUnrecorded}, want: [8]int64{1, 0, 1, 0, 0, 0, 0, 0}, changes: []StateChange{{0, F, false}}},
		{name: "death", states: []JobState{F, P}, counters: [8]int64{2, 1, 1, 0, 0, 0, 0, 0},
			found: map[int64]JobSet{0: SetDead, 1: SetInFlight}, committed: true,
			problems: []BatchProblemKind{ProblemDeathUnrecorded}, want: [8]int64{2, 1, 0, 0, 1, 0, 0, 0}, changes: []StateChange{{0, X, false}}, death: true},
		{name: "stale dead", states: []JobState{S}, counters: [8]int64{1, 0, 0, 1, 0, 0, 0, 0},
			found: map[int64]JobSet{0: SetDead}, committed: true,
			problems: []BatchProblemKind{ProblemStaleDead}, want: [8]int64{1, 0, 0, 1, 0, 0, 0, 0}},
		{name: "ended counters too high: removed first", states: []JobState{X, X}, counters: [8]int64{2, 0, 0, 0, 1, 1, 0, 2},
			committed: true, problems: []BatchProblemKind{ProblemCounter}, want: [8]int64{2, 0, 0, 0, 1, 1, 0, 0}},
		{name: "ended counters too low: removed", states: []JobState{X, S}, counters: [8]int64{2, 1, 0, 1, 0, 0, 0, 0},
			committed: true, problems: []BatchProblemKind{ProblemCounter, ProblemCounter}, want: [8]int64{2, 0, 0, 1, 0, 0, 0, 1}},
		{name: "negative counter", states: []JobState{S}, counters: [8]int64{1, 0, -1, 1, 0, 0, 0, 0},
			committed: true, problems: []BatchProblemKind{ProblemCounter}, want: [8]int64{1, 0, 0, 1, 0, 0, 0, 0}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := BatchFacts{Counters: c.counters, States: c.states, Committed: c.committed}
			for i, set := range c.found {
				f.Observe(FoundJob{ID: "j", Queue: "q", Set: SetDead, Index: i})
				f.Observe(FoundJob{ID: "j", Queue: "q", Set: set, Index: i}) // the most alive copy wins
			}
			f.Observe(FoundJob{ID: "stray", Index: 99})
			r := PlanBatchRepair(&f)
			var kinds []BatchProblemKind
			for _, p := range r.Problems {
				if p.Kind != ProblemUnknownIndex {
					kinds = append(kinds, p.Kind)
				}
			}
			if len(kinds) != len(c.problems) {
				t.Fatalf("problems %v, want %v (%+v)", kinds, c.problems, r.Problems)
			}
			for i := range kinds {
				if kinds[i] != c.problems[i] {
					t.Fatalf("problems %v, want %v", kinds, c.problems)
				}
			}
			if len(r.Problems) != len(kinds)+1 {
				t.Fatalf("the stray job was not reported once: %+v", r.Problems)
			}
			if r.Counters != c.want || r.Death != c.death || len(r.Changes) != len(c.changes) {
				t.Fatalf("counters %v death %v changes %v, want %v %v %v", r.Counters, r.Death, r.Changes, c.want, c.death, c.changes)
			}
			for i := range c.changes {
				if r.Changes[i] != c.changes[i] {
					t.Fatalf("changes %v, want %v", r.Changes, c.changes)
				}
			}
		})
	}
}
