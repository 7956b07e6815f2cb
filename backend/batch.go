package backend

import "time"

// CallbackEvent names a batch callback.
type CallbackEvent string

const (
	// CallbackComplete fires once when the batch is committed and every job
	// has run at least once or ended (pending = 0), and every child batch's
	// complete callback has succeeded.
	CallbackComplete CallbackEvent = "complete"
	// CallbackSuccess fires once when the batch is committed, every job has
	// succeeded (succeeded = total) and every child's success callback has
	// succeeded.
	CallbackSuccess CallbackEvent = "success"
	// CallbackSettled fires once when the batch is complete and nothing in
	// it is pending or retrying any more: every job succeeded or ended
	// (dead, discarded, cancelled or removed), and every child's settled
	// callback has succeeded. Complete fires while jobs still retry;
	// settled waits for them. It fires at the latest with success. A dead
	// job retried by hand afterwards un-fires nothing (BatchGate.Due).
	CallbackSettled CallbackEvent = "settled"
	// CallbackDeath fires once, the first time a job of the batch (or of a
	// child batch) dies.
	CallbackDeath CallbackEvent = "death"
)

// BatchSpec describes a batch to create.
type BatchSpec struct {
	// ID is the batch's ID, chosen by the caller (NewJobID, or DerivedJobID
	// for a child created from inside a job so that a re-run creates it once).
	ID          string
	Description string
	// ParentID makes this batch a child: it is one member of its parent.
	// Creating a child registers it with the parent, idempotently.
	ParentID string
	// Callbacks are job templates (Kind, Queue, Args, MaxRetries) fired on
	// each event; a nil entry means no callback for that event. The backend
	// sets their ID (CallbackJobID), CallbackOf and CallbackEvent.
	Callbacks map[CallbackEvent]*Job
	// CreatedAt is the creation time.
	CreatedAt time.Time
	// CommitDeadline: an uncommitted batch is marked expired after it.
	CommitDeadline time.Time
}

// BatchAdd is a chunk of jobs to add to a batch.
type BatchAdd struct {
	BatchID string
	// AddedBy is the ID of the batch job adding these jobs from inside its
	// run, or "" for a client populating the batch. Seq is the sequence
	// number of the first job in Jobs among all adds by AddedBy. A backend
	// remembers, per AddedBy, how many jobs it has added (a small record per
	// adding job, not per added job) and skips those with a sequence number
	// it has already seen, so a re-run of the adding job adds nothing twice
	// to the batch. A job the backend reserved but may not have enqueued
	// (the adding process crashed in between) is enqueued again by the
	// repeated add, with the same ID at the same BatchIndex, so no job is
	// lost. It may then be queued twice if the first enqueue did land:
	// at-least-once delivery allows it, and the batch counts each index
	// once. Backends keep no per-job dedupe key for this.
	AddedBy string
	Seq     int
	// Jobs are the jobs to add. The backend assigns BatchID and BatchIndex
	// (dense, 0..N-1 in order of addition) and enqueues them like Enqueue.
	Jobs []*Job
}

// BatchState summarises where a batch is in its life.
type BatchState string

const (
	BatchPopulating BatchState = "populating" // created, not committed
	BatchRunning    BatchState = "running"    // committed, not complete
	BatchComplete   BatchState = "complete"   // complete fired, success not yet
	BatchSucceeded  BatchState = "success"    // success fired: finished
	BatchCancelled  BatchState = "cancelled"  // cancelled: finished
	BatchExpired    BatchState = "expired"    // never committed before its deadline: finished
)

// Finished reports whether the batch refuses adds (ErrBatchFinished).
func (s BatchState) Finished() bool {
	return s == BatchSucceeded || s == BatchCancelled || s == BatchExpired
}

// BatchStatus is everything known about a batch, read in O(1) (error groups
// and children are capped or small).
type BatchStatus struct {
	ID          string
	Description string
	ParentID    string
	State       BatchState
	// Counters; their sum is Total.
	Total, Pending, Failing, Succeeded, Dead, Discarded, Cancelled, Removed int64
	CreatedAt, CommittedAt, CompleteAt, SuccessAt, DeathAt, CancelledAt     time.Time
	// SettledAt is when settled fired (zero: not yet, or the batch settled
	// before this field existed; Summary accounts for that).
	SettledAt time.Time
	// ExpiresAt is when the batch's keys expire (zero if unknown).
	ExpiresAt time.Time
	// Children are the child batches' IDs.
	Children []string
	// ErrorGroups are at most MaxErrorGroups groups, the most frequent
	// fingerprints (Space-Saving), most frequent first; OtherErrors counts
	// the failures counted outside them (before a group was kept, or in a
	// group since replaced by a more frequent one). The groups' Count plus
	// OtherErrors is the number of failures counted: a failure counts
	// when it moves its job's state (docs/batch-states.md, Error groups).
	ErrorGroups []ErrorGroup
	OtherErrors int64
	// Callbacks are the configured callbacks (templates as given).
	Callbacks map[CallbackEvent]*Job
}

// ErrorGroup aggregates the failures of one fingerprint in one batch.
type ErrorGroup struct {
	Fingerprint string
	Kind        string
	Class       string
	// Message is one sample message, truncated.
	Message string
	// JobID is one sample job.
	JobID string
	// Count is the failures counted in this group since it was kept: a
	// lower bound of the fingerprint's failures in the batch.
	Count int64
	// Error bounds what Count may miss: failures of this fingerprint
	// counted in OtherErrors before the group was kept. The fingerprint's
	// failures lie in [Count, Count+Error]; 0 for a group kept from its
	// first failure.
	Error               int64
	FirstSeen, LastSeen time.Time
}

// MaxErrorGroups is the number of error groups a batch keeps: when a new
// fingerprint fails in a batch that has them all, it replaces the smallest
// group, whose count moves to "other" (Space-Saving: every fingerprint with
// more than a 1/MaxErrorGroups share of the failures is kept).
const MaxErrorGroups = 32

// ErrorSampleBytes bounds the sample message stored in an error group.
const ErrorSampleBytes = 256

// BatchListOptions pages through batches, newest first; batches created in
// the same millisecond come in descending ID order. The next page's cursor
// is the last batch returned: Before = its CreatedAt, BeforeID = its ID.
type BatchListOptions struct {
	// Before returns batches created strictly before this time (zero = now),
	// or, with BeforeID, batches created before it or in its millisecond
	// with an ID that sorts before BeforeID.
	Before time.Time
	// BeforeID makes (Before, BeforeID) a keyset cursor, so that batches
	// created in the same millisecond as the last one of a page are not
	// skipped. Empty: Before alone, strictly. Ignored when Before is zero.
	BeforeID string
	// Limit is the page size (default 100).
	Limit int
}

// Batch TTLs: every batch key expires, so no batch outlives its use
// (docs/data-model.md, Expiry).
const (
	// DefaultSuccessLinger is how long a batch's keys live after success.
	DefaultSuccessLinger = 24 * time.Hour
	// DefaultBatchHorizon is how long an unfinished batch's keys live after
	// its last event.
	DefaultBatchHorizon = 30 * 24 * time.Hour
	// DefaultCommitTimeout is how long a batch may stay uncommitted.
	DefaultCommitTimeout = 24 * time.Hour
)
