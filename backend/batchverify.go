package backend

import "errors"

// Batch verification: a batch's state (2 bits per job and its counters) and
// its jobs may disagree after a fault that kept one write and lost the
// other (on Redis Cluster they live in different slots, and a failover can
// drop the last writes of one master). VerifyBatch recounts a batch from its
// jobs and its bits; this file decides, once for every backend, what
// disagrees and what the repaired state is (PlanBatchRepair). The backends
// only gather the facts and apply the plan.

// ErrBatchChanged is returned by a VerifyBatch repair when the batch's
// state changed between the read and the repair: nothing was written, and
// verifying again sees the new state.
var ErrBatchChanged = errors.New("batch changed while it was verified")

// MaxVerifyProblems bounds the problems a VerifyBatchResult lists; the rest
// are only counted (ProblemCount), so a badly damaged huge batch gives a
// bounded answer.
const MaxVerifyProblems = 200

// VerifyBatchParams are VerifyBatch's parameters.
type VerifyBatchParams struct {
	// ID is the batch to verify.
	ID string `json:"id"`
	// Repair writes the corrected bits and counters (PlanBatchRepair) and
	// fires the callbacks they make due, unless the batch changed since
	// it was read (ErrBatchChanged).
	Repair bool `json:"repair"`
}

// BatchProblemKind names one kind of disagreement VerifyBatch finds.
type BatchProblemKind string

const (
	// ProblemCounter: a counter disagrees with the bits (Counter, Have,
	// Want; "ended" is dead+discarded+cancelled+removed against the X bits).
	ProblemCounter BatchProblemKind = "counter"
	// ProblemLostJob: the bits say pending or failing but the job is in
	// no queue, set or in-flight list: it is lost (an enqueue or a retry
	// write that a failover dropped) or it succeeded and the batch's write
	// of that was dropped. Repair ends it as removed: nothing can run it
	// again, and its success cannot be proven.
	ProblemLostJob BatchProblemKind = "lost_job"
	// ProblemRetryUnrecorded: the job waits in the retry set but its bits
	// say pending or ended (the batch's P->F write was lost). Repair: F.
	ProblemRetryUnrecorded BatchProblemKind = "retry_unrecorded"
	// ProblemDeathUnrecorded: the job is in the dead set but its bits say
	// pending or failing (the batch's ->X write was lost). Repair: X dead,
	// and the death callback fires if it has not.
	ProblemDeathUnrecorded BatchProblemKind = "death_unrecorded"
	// ProblemStaleDead: the job is in the dead set but its bits say
	// succeeded: a success is a fact, so the bit stays; the dead entry is
	// a leftover an operator may delete. Not repaired.
	ProblemStaleDead BatchProblemKind = "stale_dead"
	// ProblemUnknownIndex: a job names this batch with an index outside
	// 0..total-1 (its batch counts nothing for it). Not repaired.
	ProblemUnknownIndex BatchProblemKind = "unknown_index"
)

// BatchProblem is one disagreement.
type BatchProblem struct {
	Kind BatchProblemKind `json:"kind"`
	// Index is the job's index in the batch (-1 for a counter).
	Index int64 `json:"index"`
	// JobID, Queue and Set say where the job was found (empty: nowhere).
	JobID string `json:"job_id,omitempty"`
	Queue string `json:"queue,omitempty"`
	Set   JobSet `json:"set,omitempty"`
	// State is the job's stored state (P, F, S, X) and Repaired the state
	// the repair rule gives it (equal when the rule changes nothing).
	State    string `json:"state,omitempty"`
	Repaired string `json:"repaired,omitempty"`
	// Counter, Have and Want describe a counter problem.
	Counter string `json:"counter,omitempty"`
	Have    int64  `json:"have,omitempty"`
	Want    int64  `json:"want,omitempty"`
}

// VerifyBatchResult is VerifyBatch's result.
type VerifyBatchResult struct {
	ID string `json:"id"`
	// Total is the batch's number of jobs (dense indexes 0..Total-1).
	Total int64 `json:"total"`
	// Found counts the batch's jobs found in queues, sets and in flight
	// (a job found twice counts once).
	Found int64 `json:"found"`
	// Counters are the stored counters and Want the counters the repair
	// rule gives (keyed by CounterNames, "total" included).
	Counters map[string]int64 `json:"counters"`
	Want     map[string]int64 `json:"want"`
	// Problems lists at most MaxVerifyProblems problems, ProblemCount
	// counts all of them.
	Problems     []BatchProblem `json:"problems"`
	ProblemCount int            `json:"problem_count"`
	// Repaired says the repair was written; Fired the callbacks it fired.
	Repaired bool            `json:"repaired"`
	Fired    []CallbackEvent `json:"fired,omitempty"`
}

// Clean reports whether the batch verified without a problem.
func (r *VerifyBatchResult) Clean() bool { return r.ProblemCount == 0 }

// FoundJob is where VerifyBatch found one job of the batch.
type FoundJob struct {
	ID    string
	Queue string
	Set   JobSet
	Index int64
}

// setRank orders the places of one index's copies: a copy that will run
// again decides over a retry, which decides over a dead entry.
func setRank(s JobSet) int {
	switch s {
	case SetQueued, SetScheduled, SetInFlight:
		return 3
	case SetRetry:
		return 2
	case SetDead:
		return 1
	}
	return 0
}

// BatchFacts are what a backend observed of one batch.
type BatchFacts struct {
	// Counters are the stored counters indexed by Counter ([0] = total).
	Counters [8]int64
	// States are the stored 2-bit states of indexes 0..total-1.
	States []JobState
	// Committed says the batch's population is committed: before that, a
	// reserved job may still be on its way to its queue, so a missing one
	// is reported but not repaired.
	Committed bool
	// Jobs maps an index to its most alive copy (Observe fills it);
	// Stray are jobs whose index is outside the batch.
	Jobs  map[int64]FoundJob
	Stray []FoundJob
}

// Observe records a job of the batch found in a set.
func (f *BatchFacts) Observe(j FoundJob) {
	if j.Index < 0 || j.Index >= int64(len(f.States)) {
		if len(f.Stray) < MaxVerifyProblems {
			f.Stray = append(f.Stray, j)
		}
		return
	}
	if f.Jobs == nil {
		f.Jobs = map[int64]FoundJob{}
	}
	if old, ok := f.Jobs[j.Index]; !ok || setRank(j.Set) > setRank(old.Set) {
		f.Jobs[j.Index] = j
	}
}

// StateChange is one index's new state.
type StateChange struct {
	Index int64
	State JobState
	// Settles says the change settles the job for its page (PageSettles:
	// a lost job ended as removed), so a paged store counts it.
	Settles bool
}

// BatchRepair is the corrected state of a batch.
type BatchRepair struct {
	// Changes are the bits to rewrite, in index order.
	Changes []StateChange
	// Counters are the corrected counters ([0], the total, never changes).
	Counters [8]int64
	// Death says a job's death was recorded by the repair: the batch fires
	// its death callback if it has not yet.
	Death bool
	// Problems are every disagreement found, in index order, counters first.
	Problems []BatchProblem
}

// Dirty reports whether applying the repair writes anything.
func (r *BatchRepair) Dirty(stored [8]int64) bool {
	return len(r.Changes) > 0 || r.Counters != stored
}

// PlanBatchRepair compares a batch's counters, bits and jobs and computes
// the repaired state. The rule, decided once here for every backend:
//
//   - counters follow the bits: pending, failing and succeeded are the
//     P, F and S counts; the ended counters (dead, discarded, cancelled,
//     removed) keep their split as far as it fits the X count, an excess
//     is taken from removed, discarded, cancelled, dead in turn, a
//     shortfall is added to removed;
//   - then the bits follow where the jobs are: a job in the retry set is
//     F (from P or X), a job in the dead set is X dead (from P or F, and
//     its death fires), a P or F job found nowhere in a committed batch
//     is X removed; a job queued, scheduled or in flight may hold any
//     state (it runs again, and a stale duplicate counts nothing), a
//     dead job whose bits say S stays S (its dead entry is reported);
//   - each bit moved by the rule moves the counters like a transition
//     (leaving X takes from dead first).
func PlanBatchRepair(f *BatchFacts) BatchRepair {
	var r BatchRepair
	n := int64(len(f.States))
	var cnt [4]int64
	for _, s := range f.States {
		cnt[s&3]++
	}
	stored := f.Counters
	c := stored
	c[0] = n
	c[CounterPending], c[CounterFailing], c[CounterSucceeded] = cnt[StatePending], cnt[StateFailing], cnt[StateSucceeded]
	for _, k := range []Counter{CounterDead, CounterDiscarded, CounterCancelled, CounterRemoved} {
		if c[k] < 0 {
			c[k] = 0
		}
	}
	ended := func(c *[8]int64) int64 {
		return c[CounterDead] + c[CounterDiscarded] + c[CounterCancelled] + c[CounterRemoved]
	}
	if d := cnt[StateEnded] - ended(&c); d > 0 {
		c[CounterRemoved] += d
	} else {
		takeEnded(&c, -d, CounterRemoved, CounterDiscarded, CounterCancelled, CounterDead)
	}
	for k := CounterPending; k <= CounterRemoved; k++ {
		if stored[k] != c[k] {
			r.Problems = append(r.Problems, BatchProblem{Kind: ProblemCounter, Index: -1, Counter: CounterNames[k], Have: stored[k], Want: c[k]})
		}
	}
	for _, j := range f.Stray {
		r.Problems = append(r.Problems, BatchProblem{Kind: ProblemUnknownIndex, Index: j.Index, JobID: j.ID, Queue: j.Queue, Set: j.Set})
	}
	for i := int64(0); i < n; i++ {
		old := f.States[i] & 3
		j, found := f.Jobs[i]
		p := BatchProblem{Index: i, JobID: j.ID, Queue: j.Queue, Set: j.Set, State: old.String()}
		next := old
		switch {
		case !found && (old == StatePending || old == StateFailing):
			p.Kind = ProblemLostJob
			if f.Committed {
				next = StateEnded
				c[CounterRemoved]++
			}
		case found && j.Set == SetRetry && (old == StatePending || old == StateEnded):
			p.Kind, next = ProblemRetryUnrecorded, StateFailing
			c[CounterFailing]++
		case found && j.Set == SetDead && (old == StatePending || old == StateFailing):
			p.Kind, next = ProblemDeathUnrecorded, StateEnded
			c[CounterDead]++
			r.Death = true
		case found && j.Set == SetDead && old == StateSucceeded:
			p.Kind = ProblemStaleDead
		default:
			continue
		}
		if next != old {
			if old == StateEnded {
				takeEnded(&c, 1, CounterDead, CounterRemoved, CounterDiscarded, CounterCancelled)
			} else {
				c[stateCounter(old)]--
			}
			r.Changes = append(r.Changes, StateChange{Index: i, State: next, Settles: p.Kind == ProblemLostJob})
		}
		p.Repaired = next.String()
		r.Problems = append(r.Problems, p)
	}
	r.Counters = c
	return r
}

// takeEnded takes n from the ended counters, in the order given, none
// below zero.
func takeEnded(c *[8]int64, n int64, order ...Counter) {
	for _, k := range order {
		if n <= 0 {
			return
		}
		t := min(n, c[k])
		c[k] -= t
		n -= t
	}
}

// Result fills a VerifyBatchResult from the facts and the plan.
func (r *BatchRepair) Result(id string, f *BatchFacts) VerifyBatchResult {
	res := VerifyBatchResult{
		ID: id, Total: int64(len(f.States)), Found: int64(len(f.Jobs)),
		Counters: map[string]int64{}, Want: map[string]int64{},
		ProblemCount: len(r.Problems), Problems: r.Problems,
	}
	if len(res.Problems) > MaxVerifyProblems {
		res.Problems = res.Problems[:MaxVerifyProblems]
	}
	if res.Problems == nil {
		res.Problems = []BatchProblem{}
	}
	for k, name := range CounterNames {
		if k == 0 {
			name = "total"
			res.Counters[name] = f.Counters[0]
			res.Want[name] = r.Counters[0]
			continue
		}
		res.Counters[name] = f.Counters[k]
		res.Want[name] = r.Counters[k]
	}
	return res
}
