// Package backend defines the storage seam of joblot: the domain operations
// (enqueue, fetch, complete, schedule, recover, batches, stats) that a
// backend implements, and the types they exchange. The root package joblot
// is written against Backend only; backend/redis and backend/bolt implement
// it, and backend/backendtest is the conformance suite both must pass. The
// suite, not this interface, is the contract: keep storage specifics out of
// both.
//
// A backend is safe for concurrent use. Every method takes a context and
// returns errors wrapped with %w around the sentinels below where a caller
// may branch on them.
//
// Migrations upgrade a store's data model (DataModelVersion) in place,
// step by step, each step taking version v to v+1. backend/redis.Migrate
// and backend/bolt.Migrate run them; `joblot migrate` calls those, and an
// application may call them at start-up (a dry run says what is pending).
//
// A rolling deploy of a joblot that writes a newer data model goes:
//
//  1. migrate first, with the new binary (`joblot migrate`, or Migrate
//     from the new code), while the old workers keep running;
//  2. then roll the workers and clients to the new binary.
//
// This works because of two rules every step keeps. A step only adds what
// the new code needs and keeps what the previous version reads, so the old
// workers still running keep working while and after it runs; and readers
// accept the previous version, so the new code works on what a step has
// not reached yet. Steps are idempotent and resumable: an interrupted
// migration is finished by running it again. A store written by a newer
// data model is refused (ErrVersionTooNew) by Open, by Migrate and by the
// CLI: an old binary started after the migration stops at once instead of
// writing the old layout, so never roll back past a migration.
package backend

import (
	"context"
	"strings"
	"time"
)

// Backend is the storage seam.
type Backend interface {
	// Enqueue stores jobs durably. A job whose RunAt is after now goes to
	// its queue's scheduled set, the others to the tail of their queue. A
	// job whose ID is already known to the store's dedupe window (callbacks,
	// derived IDs) is not stored again: the result lists it as skipped.
	// Enqueue refuses a store at its memory limit with an error wrapping
	// ErrStoreFull and stores nothing of that call's failed chunk.
	Enqueue(ctx context.Context, jobs []*Job) (EnqueueResult, error)

	// Fetch claims up to p.Max jobs for process p.Proc, trying p.Queues in
	// their order (the server computes the order: strict or weighted). A
	// claimed job is in flight: it belongs to p.Proc until Complete, and comes
	// back to its queue if the process dies (RecoverOrphans). Paused queues are
	// skipped. Fetch does not block: it returns an empty slice when there is
	// nothing to do. Payloads that cannot be decoded are returned as jobs
	// with only ID, Queue and Raw set and Malformed non-nil, so the caller
	// can send them dead with the reason. When it fails after claiming jobs
	// (a later queue failed), it returns the jobs it claimed together with
	// the error: they are in flight under p.Proc, and the caller runs them.
	Fetch(ctx context.Context, p FetchParams) (FetchResult, error)

	// Complete records the outcome of in-flight jobs of proc (see Result).
	// For batch jobs it applies the batch transition first and lets its
	// Effect decide the queue-side write (a stale duplicate writes no retry
	// and no dead entry); it writes any callback the transition fires to the
	// batch's outbox and forwards it. A job no longer in proc's in-flight set
	// (recovered by another process) is still accounted in its batch (which
	// is idempotent) but writes nothing on the queue side. Complete must
	// keep working when the store is at its memory limit (it frees memory).
	Complete(ctx context.Context, proc string, results []Result) error

	// Heartbeat registers or refreshes process info with a lease of ttl. It
	// returns an error wrapping ErrFenced if the process was declared dead
	// in the meantime (its jobs may have been recovered): the caller must
	// stop fetching.
	Heartbeat(ctx context.Context, info ProcessInfo, ttl time.Duration) error
	// Deregister removes a process after a clean shutdown; its remaining
	// in-flight jobs (there should be none) go back to their queues.
	Deregister(ctx context.Context, proc string) error

	// MoveDue moves scheduled and retry jobs whose time has come back to the
	// tail of their queues, at most limit per call; it returns how many
	// moved.
	MoveDue(ctx context.Context, now time.Time, limit int) (int, error)
	// RecoverOrphans puts the in-flight jobs of processes whose lease
	// expired before now back at the head of their queue, incrementing
	// Job.Recoveries; a job reaching MaxRecoveries goes dead with
	// PoisonPillMessage. Returns how many jobs were recovered or killed.
	RecoverOrphans(ctx context.Context, now time.Time) (int, error)
	// TrimDead enforces the dead set caps (Limits) per queue and in total;
	// dropped jobs are counted in Stats.DeadDropped.
	TrimDead(ctx context.Context, now time.Time) (int, error)
	// Lease takes or extends lease p.Name for p.Holder; it reports whether
	// p.Holder has it. Background duties run only under their lease. A TTL
	// of zero or less gives the lease up if p.Holder has it (so another process
	// can take it at once) and reports false.
	Lease(ctx context.Context, p LeaseParams) (LeaseResult, error)

	// FirePeriodic records p.Instant as periodic job p.Name's last instant,
	// and enqueues p.Job with it, only if p.Instant is later than the
	// instant stored for p.Name in p.Queue (or none is stored): one atomic
	// step, so however many processes call it for one instant, it is
	// recorded (and its job enqueued) once, and an earlier instant after a
	// later one writes nothing. The store only compares and stores: which
	// instant to record, and whether with a job, is the caller's rule.
	FirePeriodic(ctx context.Context, p FirePeriodicParams) (FirePeriodicResult, error)
	// SetPeriodic replaces the stored periodic definitions with defs (the
	// leading server's configuration), for ListPeriodic. It keeps the
	// last instants.
	SetPeriodic(ctx context.Context, defs []PeriodicDef) error
	// ListPeriodic returns the stored periodic definitions, sorted by name,
	// each with the last instant stored for it in its queue.
	ListPeriodic(ctx context.Context) ([]PeriodicState, error)

	// Stats returns counters, queue sizes and processes in O(queues +
	// processes).
	Stats(ctx context.Context, now time.Time) (*Stats, error)
	// Throughput returns the processed and failed counts per minute and
	// queue that Complete recorded (counted as Stats.Processed and
	// Stats.Failed are) in p's window; a store keeps at most
	// ThroughputMinutes buckets per queue.
	Throughput(ctx context.Context, p ThroughputParams) (ThroughputResult, error)
	// ListJobs pages through one set, filtering without loading the whole
	// set into memory.
	ListJobs(ctx context.Context, f JobFilter) (*JobPage, error)
	// RetryJobs moves jobs from the retry, scheduled or dead set to the tail
	// of their queue now (dead ones marked ManualRetry). Returns how many.
	RetryJobs(ctx context.Context, p RetryJobsParams) (RetryJobsResult, error)
	// DeleteJobs removes jobs from a set (batch jobs count as removed).
	DeleteJobs(ctx context.Context, p DeleteJobsParams) (DeleteJobsResult, error)

	// PauseQueue pauses (p.Paused) or resumes queue p.Queue. Fetch skips a
	// paused queue; enqueue, scheduling and acks go on.
	PauseQueue(ctx context.Context, p PauseQueueParams) (PauseQueueResult, error)
	// CancelJob cancels job id of queue so that it never runs (again). A
	// scheduled or retrying job is removed now (CancelRemoved). A job in
	// flight stays with its process, which is asked to cancel the attempt
	// (CancelRunning; see CancelListener): unless the attempt succeeded
	// first, it ends as OutcomeCancelled. Any other id is marked in its
	// queue (CancelQueued) and a queued job with it is dropped when it
	// reaches the head of the queue, instead of being fetched: finding it
	// in the queue would cost a scan of the queue, so the mark is not
	// checked against the queue's jobs; an id the queue does not hold
	// stays marked until the queue next runs empty, and changes nothing.
	// When the id is not in flight, scheduled or retrying and the queue
	// holds no waiting job, CancelJob returns an error wrapping
	// ErrJobNotFound and marks nothing. A cancelled job counts in
	// Stats.Cancelled once removed or dropped, and as cancelled
	// (EventCancelled) in its batch.
	CancelJob(ctx context.Context, queue, id string) (CancelResult, error)
	// FindJob returns job id of queue and the set that holds it (SetInFlight
	// for a job claimed by a process), or an error wrapping ErrJobNotFound.
	// It looks at the jobs in flight, then searches the queued, scheduled,
	// retry and dead sets in turn: its cost grows with the queue, for an
	// operator's look-up. A payload that cannot be decoded is returned as
	// a job with only ID (MalformedJobID) and Queue.
	FindJob(ctx context.Context, queue, id string) (FindJobResult, error)

	// ClearQueue removes every job waiting in a queue (not its scheduled,
	// retry or dead jobs, nor jobs in flight); batch jobs among them count
	// as removed in their batch. Returns how many were removed.
	ClearQueue(ctx context.Context, queue string) (int, error)

	// CreateBatch creates a batch (and registers it with its parent). It is
	// idempotent: creating an existing batch is a no-op.
	CreateBatch(ctx context.Context, spec *BatchSpec) error
	// AddToBatch adds jobs to a batch and enqueues them. It returns an error
	// wrapping ErrBatchFinished if the batch is finished, ErrBatchNotFound if
	// it does not exist (or expired).
	AddToBatch(ctx context.Context, add *BatchAdd) error
	// CommitBatch marks the batch's population complete; from then on it can
	// complete (an empty batch fires its callbacks at once).
	CommitBatch(ctx context.Context, id string) error
	// BatchStatus returns a batch's status or ErrBatchNotFound.
	BatchStatus(ctx context.Context, id string) (*BatchStatus, error)
	// ListBatches pages through batches, newest first.
	ListBatches(ctx context.Context, opts BatchListOptions) ([]*BatchStatus, error)
	// CancelBatch marks the batch cancelled: its remaining jobs are skipped
	// when fetched (EventCancelled), complete still fires, success does not.
	CancelBatch(ctx context.Context, id string) error
	// BatchesCancelled reports which of ids are cancelled (the server asks
	// this for batch jobs before running them, with a short-lived cache).
	BatchesCancelled(ctx context.Context, ids []string) (map[string]bool, error)
	// DeleteBatch removes a batch's state; later events for it change
	// nothing and are counted in Stats.ExpiredBatchEvents. Its parent, if
	// any, stops waiting for it and lists it no more.
	DeleteBatch(ctx context.Context, id string) error
	// VerifyBatch recounts a batch from where its jobs are and from its
	// bits and counters, and reports every disagreement; with p.Repair it
	// writes the state PlanBatchRepair computes and fires the callbacks
	// that makes due, or returns ErrBatchChanged if the batch moved
	// meanwhile. It reads every job of the store: an operator's tool.
	VerifyBatch(ctx context.Context, p VerifyBatchParams) (VerifyBatchResult, error)
	// ErrorGroups returns the error groups of every queue (or of f.Queue)
	// over the hourly buckets a query at now covers (see ErrorHours and
	// ErrorGroupFilter), most frequent first, each queue's failures beyond
	// the groups kept per hour in an Other row at the end. Every failure
	// Complete records (a retry or dead entry written) and every poison
	// pill counts once, however often its ack is repeated.
	ErrorGroups(ctx context.Context, f ErrorGroupFilter, now time.Time) ([]ErrorGroupStat, error)

	// SetLimits replaces one queue's global limits (see QueueLimit), or
	// removes them (the zero QueueLimit); the latest writer wins. When they
	// change, the jobs waiting over the old concurrency limit go back to
	// the head of the queue to be judged again. It returns an error
	// wrapping ErrBadLimit for a limit QueueLimit.Validate refuses.
	SetLimits(ctx context.Context, p SetLimitsParams) (SetLimitsResult, error)

	// ForwardCallbacks moves callbacks left in outboxes (by a process that
	// crashed before forwarding) to their queues, and expires batches past
	// their commit deadline. Returns how many callbacks it forwarded.
	ForwardCallbacks(ctx context.Context, now time.Time) (int, error)

	// Close releases the backend's resources.
	Close() error
}

// Fetched is a job claimed by Fetch.
type Fetched struct {
	*Job
	// Raw is the stored payload, as the backend needs it to ack.
	Raw []byte
	// Malformed is non-nil when Raw could not be decoded; Job then has only
	// Queue and ID set, the ID being MalformedJobID(Raw).
	Malformed error
	// Limited says the job's queue had a concurrency limit when it was
	// fetched: the job may hold a slot that its ack must release.
	Limited bool
}

// Outcome is what happened to an in-flight job.
type Outcome uint8

const (
	// OutcomeSucceeded: the job ran and succeeded; it is deleted.
	OutcomeSucceeded Outcome = iota + 1
	// OutcomeRetry: the attempt failed; Result.Job (with its Attempt and
	// error fields updated by the caller) goes to the retry set at RetryAt.
	OutcomeRetry
	// OutcomeDead: retries exhausted, killed, malformed or a poison pill;
	// Result.Job goes to the dead set (DiedAt set by the caller).
	OutcomeDead
	// OutcomeDiscarded: dropped on purpose and counted.
	OutcomeDiscarded
	// OutcomeRequeue: returned to the head of its queue untouched (graceful
	// shutdown before the job started or when its deadline passed).
	OutcomeRequeue
	// OutcomeCancelled: skipped because its batch is cancelled, or its
	// attempt was cancelled (CancelJob). Not a finished attempt: it counts
	// in Stats.Cancelled, not Processed.
	OutcomeCancelled
	// OutcomeSnoozed: the worker snoozed the job (joblot.JobSnooze):
	// Result.Job (Snoozes incremented, RunAt set, Attempt unchanged) goes
	// to the scheduled set at RetryAt, unless its batch counts it as a
	// stale duplicate (backend.EventSnoozed). Not a finished attempt: no
	// counter moves.
	OutcomeSnoozed
)

// String names the outcome.
func (o Outcome) String() string {
	return [...]string{"?", "succeeded", "retry", "dead", "discarded", "requeue", "cancelled", "snoozed"}[o%8]
}

// Result is the outcome of one in-flight job, given to Complete.
type Result struct {
	// Fetched is the job as Fetch returned it (Raw identifies the stored
	// copy).
	Fetched *Fetched
	Outcome Outcome
	// Job is the job to write for OutcomeRetry and OutcomeDead: a clone of
	// the fetched job with Attempt, error fields, FailedAt/DiedAt updated.
	// For batch jobs its ErrorFingerprint/Class/Message feed error groups.
	Job *Job
	// RetryAt is when a retry becomes due (OutcomeRetry), or a snoozed
	// job (OutcomeSnoozed).
	RetryAt time.Time
	// Duration is how long the attempt ran (for stats).
	Duration time.Duration
	// Output, for OutcomeSucceeded, is the job's final record to keep (its
	// output and last progress; see OutputStore), stored with the ack so
	// that it costs no extra round trip. For any other outcome, non-nil
	// means the attempt recorded progress, which the backend removes: a
	// failed attempt keeps nothing. Nil (the common case) writes nothing.
	Output *JobOutput
}

// CancelResult says what CancelJob did with a job.
type CancelResult uint8

const (
	// CancelRemoved: the job was scheduled or retrying and is removed.
	CancelRemoved CancelResult = iota + 1
	// CancelQueued: the job is marked in its queue and will be dropped
	// when it reaches the head of the queue.
	CancelQueued
	// CancelRunning: the job is in flight; the process running it was
	// asked to cancel the attempt.
	CancelRunning
)

// String names the result.
func (r CancelResult) String() string {
	return [...]string{"?", "removed", "queued", "running"}[r%4]
}

// CancelListener is implemented by backends that deliver CancelJob's
// requests for jobs in flight to the processes running them.
type CancelListener interface {
	// ListenCancels calls fn with the queue and id of every job CancelJob
	// reports as in flight (and, on a store shared by several processes,
	// as queued, in case another process just claimed it), from any
	// process, until ctx is done; then it returns nil. fn must not block.
	// Delivery is best effort: a request made while the listener is not
	// connected (a store outage) is not delivered, and the job runs to its
	// end. It returns an error when the store cannot be listened to.
	ListenCancels(ctx context.Context, fn func(queue, id string)) error
}

// ProcessInfo describes a running server process.
type ProcessInfo struct {
	ID          string
	Hostname    string
	PID         int
	Queues      []string
	Concurrency int
	StartedAt   time.Time
	// Quiet says the process fetches no new jobs (Server.Quiet): it
	// finishes those it holds and keeps heartbeating. A heartbeat records
	// it; Stats also reports a process an operator asked to quiet
	// (Quieter.RequestQuiet) as quiet, since it goes quiet at its next
	// beat.
	Quiet bool
	// LastBeat and InFlight are filled in by Stats.
	LastBeat time.Time
	InFlight int
}

// JobSet names where a job sits.
type JobSet string

const (
	SetQueued    JobSet = "queued"
	SetScheduled JobSet = "scheduled"
	SetRetry     JobSet = "retry"
	SetDead      JobSet = "dead"
	// SetInFlight names jobs claimed by a process (FindJob only: it is no
	// set ListJobs pages through).
	SetInFlight JobSet = "in_flight"
)

// JobFilter selects jobs of one set. Empty fields match everything.
type JobFilter struct {
	Set JobSet
	// Queue limits the listing to one queue; empty means all queues.
	Queue            string
	BatchID          string
	Kind             string
	ErrorFingerprint string
	// ErrorContains matches a substring of the error message.
	ErrorContains string
	// Cursor continues a previous page (JobPage.Next); empty starts at the
	// beginning (oldest first for queues, soonest first for scheduled and
	// retry, newest first for dead).
	Cursor string
	// Limit is the page size (default 100).
	Limit int
	// ScanBudget bounds the stored entries one call examines (default
	// DefaultScanBudget, and never less than Limit), so that a sparse
	// filter over a large set answers in bounded time: when it runs out
	// before the page fills, the page holds the matches found so far,
	// Partial is set and Next continues the scan.
	ScanBudget int
}

// DefaultScanBudget is the default JobFilter.ScanBudget.
const DefaultScanBudget = 10_000

// Budget returns the number of entries a ListJobs call with f may
// examine: ScanBudget (DefaultScanBudget when not positive), at least
// limit.
func (f *JobFilter) Budget(limit int) int {
	b := f.ScanBudget
	if b <= 0 {
		b = DefaultScanBudget
	}
	return max(b, limit)
}

// Matches reports whether j passes the filter's job fields (BatchID, Kind,
// ErrorFingerprint, ErrorContains); Set, Queue, Cursor and Limit are the
// backend's to apply while it reads. ErrorFingerprint matches the error
// group a failed job counts in (Job.Fingerprint), so a group's fingerprint
// finds its jobs even when they carry none of their own.
func (f *JobFilter) Matches(j *Job) bool {
	return (f.BatchID == "" || j.BatchID == f.BatchID) &&
		(f.Kind == "" || j.Kind == f.Kind) &&
		(f.ErrorFingerprint == "" || j.ErrorFingerprint == f.ErrorFingerprint || j.ErrorFingerprint == "" && j.failed() && j.Fingerprint() == f.ErrorFingerprint) &&
		(f.ErrorContains == "" || strings.Contains(j.ErrorMessage, f.ErrorContains))
}

// failed reports whether j carries a failure.
func (j *Job) failed() bool {
	return j.ErrorClass != "" || j.ErrorMessage != "" || !j.FailedAt.IsZero()
}

// JobPage is one page of ListJobs.
type JobPage struct {
	Jobs []*Job
	// Next is the cursor of the following page, empty at the end.
	Next string
	// Partial says the scan budget (JobFilter.ScanBudget) ran out before
	// the page filled: the set may hold more matches after Next, so a count
	// of them is at least the number seen so far ("≥ N").
	Partial bool
}

// Stats is a snapshot of the store. The counters mean the same on every
// backend (the conformance suite holds them to it) and follow Sidekiq's:
// a job that fails once and then succeeds counts Processed 2, Failed 1.
type Stats struct {
	// Processed counts finished attempts: successes, failures (retried or
	// dead) and discards. A job put back in its queue (recovery, shutdown),
	// cancelled or snoozed did not finish an attempt and is not counted: a
	// job snoozed twice that then succeeds counts Processed 1.
	Processed int64
	// Failed counts the failed attempts that were recorded: each one that
	// scheduled a retry or sent the job to the dead set. A batch job's stale
	// duplicate (its batch already holds a later state) writes nothing and
	// counts in Processed only.
	Failed int64
	// Days holds per-day counters (UTC dates, newest first) for as many days
	// as the store keeps (they expire).
	Days []DayStats
	// DeadDropped counts dead jobs dropped by the dead set's caps.
	DeadDropped int64
	// Discarded counts attempts that ended with JobDiscard.
	Discarded int64
	// Cancelled counts jobs cancelled by CancelJob (when removed from
	// their set, dropped at the head of their queue, or when their
	// attempt ended cancelled) and jobs skipped because their batch is
	// cancelled. A cancelled attempt does not count in Processed.
	Cancelled int64
	// ExpiredBatchEvents counts job events for batches that had already
	// expired: they changed no batch state.
	ExpiredBatchEvents int64
	// OutputRecords and OutputBytes are the job output and progress
	// records the store keeps and their size (OutputStore);
	// OutputDropped counts the writes the byte cap dropped.
	OutputRecords, OutputBytes, OutputDropped int64
	// Queues are sorted by name.
	Queues    []QueueStats
	Processes []ProcessInfo
}

// Queue returns the stats of the named queue, and whether the store knows
// it.
func (s *Stats) Queue(name string) (QueueStats, bool) {
	for _, q := range s.Queues {
		if q.Name == name {
			return q, true
		}
	}
	return QueueStats{}, false
}

// DayStats are one UTC day's counters.
type DayStats struct {
	Date              string // 2006-01-02
	Processed, Failed int64
}

// QueueStats describe one queue.
type QueueStats struct {
	Name                         string
	Size, Scheduled, Retry, Dead int64
	InFlight                     int64
	// Latency is the age of the oldest job waiting in the queue.
	Latency time.Duration
	Paused  bool
	// Limit is the queue's global limit and its state, nil when the queue
	// has none.
	Limit *LimitStats
}

// Limits are the caps a backend enforces. Zero fields take the defaults.
//
// The dead-set rule, the same on every backend (TrimDead; the conformance
// suite holds them to it): per queue, a dead job goes when it died before
// now − DeadMaxAge, when its queue holds more than DeadMaxJobs dead jobs,
// or while its queue's dead payloads exceed DeadMaxBytes; then, across
// queues, the dead jobs that died first go until the totals fit
// DeadMaxJobs and DeadMaxBytes. Always oldest first (by death time), so
// the newest deaths are kept. Every drop counts in the queue's
// Stats.DeadDropped, and the dead payload bytes follow every removal.
// The Redis backend and `joblot cleanup --dead` (with an operator's caps)
// run one script for it (internal/deadtrim); bolt applies it in one
// transaction.
type Limits struct {
	// DeadMaxJobs caps the dead set per queue and in total (default 10,000).
	DeadMaxJobs int64
	// DeadMaxAge drops dead jobs older than this (default 180 days).
	DeadMaxAge time.Duration
	// DeadMaxBytes caps the stored bytes of the dead set per queue and in
	// total (default 64 MiB): each entry's bytes, plus once each failure
	// group (kind, class, fingerprint, backtrace, first message) that
	// entries of one queue share on Redis.
	DeadMaxBytes int64
	// StatsDays is how long per-day counters live (default 30 days).
	StatsDays int
	// ErrorGroupsPerHour caps the error groups of one queue's hourly
	// bucket (default DefaultErrorGroupsPerHour); further fingerprints
	// count as other.
	ErrorGroupsPerHour int
	// ErrorGroupRetention is how long an hourly error bucket is kept after
	// its hour ends (default DefaultErrorGroupRetention).
	ErrorGroupRetention time.Duration

	// OutputTTL is how long a job's output or progress record is kept
	// after its last write (default DefaultOutputTTL).
	OutputTTL time.Duration
	// OutputMaxBytes caps the bytes of every output and progress record
	// together (default DefaultOutputMaxBytes): a write beyond it is
	// dropped and counted in Stats.OutputDropped.
	OutputMaxBytes int64
}

// Default limits.
const (
	DefaultDeadMaxJobs  = 10_000
	DefaultDeadMaxAge   = 180 * 24 * time.Hour
	DefaultDeadMaxBytes = 64 << 20
	DefaultStatsDays    = 30
)

// WithDefaults returns l with zero fields set to their defaults.
func (l Limits) WithDefaults() Limits {
	if l.DeadMaxJobs == 0 {
		l.DeadMaxJobs = DefaultDeadMaxJobs
	}
	if l.DeadMaxAge == 0 {
		l.DeadMaxAge = DefaultDeadMaxAge
	}
	if l.DeadMaxBytes == 0 {
		l.DeadMaxBytes = DefaultDeadMaxBytes
	}
	if l.StatsDays == 0 {
		l.StatsDays = DefaultStatsDays
	}
	if l.ErrorGroupsPerHour == 0 {
		l.ErrorGroupsPerHour = DefaultErrorGroupsPerHour
	}
	if l.ErrorGroupRetention == 0 {
		l.ErrorGroupRetention = DefaultErrorGroupRetention
	}
	if l.OutputTTL == 0 {
		l.OutputTTL = DefaultOutputTTL
	}
	if l.OutputMaxBytes == 0 {
		l.OutputMaxBytes = DefaultOutputMaxBytes
	}
	return l
}

// DataModelVersion is the storage layout version this code writes. A
// backend writes it with its first write and refuses (ErrVersionTooNew) a
// store written by a newer layout.
const DataModelVersion = 4

// Waiter is implemented by backends that can wake an idle fetcher when jobs
// arrive, so that it need not poll: a job enqueued into an idle system
// starts at once, and an idle process costs the store almost nothing.
type Waiter interface {
	// WaitForJobs blocks until jobs may have arrived in one of queues (a
	// hint: the caller fetches to find out), ctx is done, or timeout has
	// passed; it returns nil in all three cases unless the store failed.
	// Enqueueing into an empty queue, due scheduled and retry jobs moving
	// to an empty queue, jobs requeued or retried by hand, a queue resumed
	// and a fetch that leaves a backlog behind its full chunk each wake at
	// least one waiter, or the next one to wait.
	WaitForJobs(ctx context.Context, queues []string, timeout time.Duration) error
}

// WaitFetcher is implemented by Waiters that can claim jobs in the round
// trip that wakes them: the fetch is sent behind the wait, so a job
// enqueued into an idle system starts one round trip sooner.
type WaitFetcher interface {
	Waiter
	// WaitFetch waits like WaitForJobs on p.Queues, then claims jobs like
	// Fetch(p). fetched reports whether it fetched: false means it only
	// waited (it cannot fetch these queues that way, e.g. several queues
	// or a limited queue), and the caller fetches. Fetched, fewer than
	// p.Max jobs mean the queues were empty (or paused) when it fetched:
	// the caller may wait again at once, as a later enqueue wakes it. When ctx is done it stops waiting and returns
	// what the fetch claimed meanwhile: a claim is never left in flight
	// without the caller knowing of it (unless the connection is lost, as
	// with Fetch).
	WaitFetch(ctx context.Context, p FetchParams, timeout time.Duration) (res FetchResult, fetched bool, err error)
}
