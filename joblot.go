// Package joblot runs background jobs and batches for Go programs.
//
// A job is an args struct with a Kind method; a typed Worker runs it. A
// Client enqueues jobs, a Server fetches and runs them on many processes with
// retries (Sidekiq's backoff curve), schedules, a capped dead set and
// reliable fetch: a job fetched by a process that dies is recovered by a live
// one. Jobs are grouped into batches whose callbacks fire when the batch
// completes, succeeds or has its first death, and whose memory does not grow
// with its failures.
//
// Storage is a backend.Backend: Redis (package backend/redis) to run across
// machines, or an embedded bbolt file (package backend/bolt) on one machine.
//
// Jobs run at least once: a process can die after a job's work and before
// its acknowledgement, and the job then runs again. Write jobs and
// callbacks to be idempotent.
package joblot

import (
	"time"

	"github.com/joblot/joblot/backend"
)

// JobArgs is implemented by every job's args struct. Kind names the job
// type; it must be stable across deploys because stored jobs refer to it.
// Args are encoded as JSON.
type JobArgs interface {
	Kind() string
}

// JobArgsWithOpts is implemented by args that carry their own enqueue
// defaults (queue, retries, timeout); options given at enqueue win.
type JobArgsWithOpts interface {
	JobArgs
	EnqueueOpts() EnqueueOpts
}

// Job is a job as its worker sees it: the decoded args plus metadata.
type Job[T JobArgs] struct {
	// ID is the job's unique ID.
	ID string
	// Args are the decoded args.
	Args T
	// Queue is the queue the job was fetched from.
	Queue string
	// Attempt is the current attempt, 1 for the first.
	Attempt int
	// MaxRetries is the effective retry budget of this job.
	MaxRetries int
	// CreatedAt is when the job was first enqueued.
	CreatedAt time.Time
	// BatchID is the job's batch, empty if none. Use BatchFromContext to
	// add jobs to it.
	BatchID string
	// CallbackOf and CallbackEvent are set on a batch callback job.
	CallbackOf    string
	CallbackEvent backend.CallbackEvent
	// LastError is the previous attempt's error message, if any.
	LastError string
	// Meta is the job's metadata (EnqueueOpts.Meta plus what enqueue
	// middleware added), nil if none. Changes made while the job runs are
	// not stored.
	Meta map[string]string
	// Snoozes counts the times the job was snoozed (JobSnooze); snoozes do
	// not use attempts.
	Snoozes int
}

// NoRetries as EnqueueOpts.MaxRetries or WorkerOpts.MaxRetries sends a
// failing job straight to the dead set.
const NoRetries = -1

// Defaults that apply when a config field is left zero.
const (
	// DefaultQueue is the queue jobs go to when none is given.
	DefaultQueue = "default"
	// DefaultMaxRetries is Sidekiq's default retry budget.
	DefaultMaxRetries = 25
	// DefaultMaxPayloadBytes is the largest encoded job accepted at enqueue.
	DefaultMaxPayloadBytes = 1 << 20
	// DefaultMaxErrorBytes truncates stored error messages.
	DefaultMaxErrorBytes = 1 << 10
	// DefaultEnqueueChunk is how many jobs EnqueueMany and Batch.Add send
	// per round trip.
	DefaultEnqueueChunk = 1000
	// MaxMetaBytes caps a job's metadata and trace context together, as
	// stored: every key and value with its length byte(s), plus the trace
	// context's bytes. Metadata is for small tags (tenant, request id,
	// trace), not for data: a larger one fails with ErrMetaTooLarge.
	MaxMetaBytes = 4 << 10
	// DefaultMaxSnoozes is how many times a job may snooze (JobSnooze)
	// unless its worker sets WorkerOpts.MaxSnoozes; the next snooze is a
	// failure (ErrTooManySnoozes).
	DefaultMaxSnoozes = 100
)
