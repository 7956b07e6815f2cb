package backend

import "time"

// PeriodicDef is a periodic job's definition as the server that leads
// wrote it (SetPeriodic), for operators to list: the store keeps it, it
// decides nothing.
type PeriodicDef struct {
	// Name identifies the periodic job; its last fired instant is kept
	// under it.
	Name string `json:"name"`
	// Schedule is the cron expression or descriptor, as configured.
	Schedule string `json:"schedule"`
	// Queue and Kind are those of the jobs it enqueues.
	Queue string `json:"queue"`
	Kind  string `json:"kind"`
	// Missed names the policy for missed instants ("skip", "run_once").
	Missed string `json:"missed"`
}

// PeriodicState is a stored definition with its last fired instant.
type PeriodicState struct {
	PeriodicDef
	// Last is the last instant recorded for Name in Queue (fired, or
	// skipped as missed), zero if none.
	Last time.Time `json:"last"`
}

// FirePeriodicParams are the arguments of FirePeriodic.
type FirePeriodicParams struct {
	// Name is the periodic job; Queue is the queue whose slot keeps its
	// last instant (the queue Job goes to).
	Name  string
	Queue string
	// Instant is the schedule instant to record (whole milliseconds are
	// kept).
	Instant time.Time
	// Job is enqueued (to the tail of Queue, due now) together with the
	// record; nil records the instant without enqueueing anything (a
	// missed instant skipped).
	Job *Job
}

// FirePeriodicResult is what FirePeriodic did.
type FirePeriodicResult struct {
	// Recorded reports that Instant was later than the stored instant (or
	// none was stored): it is now the stored one and Job, if any, was
	// enqueued in the same atomic step. False means nothing was written.
	Recorded bool
	// Previous is the instant stored before the call, zero if none.
	Previous time.Time
}
