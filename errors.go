package joblot

import (
	"errors"

	"github.com/joblot/joblot/backend"
)

// Sentinel errors. Errors returned by joblot wrap them; test with errors.Is.
var (
	// ErrPayloadTooLarge: the encoded job exceeds ClientConfig.MaxPayloadBytes
	// (at enqueue; a fetched job over it goes dead with this reason).
	ErrPayloadTooLarge = errors.New("joblot: job payload too large")
	// ErrUnknownKind: no worker is registered for a job's kind in this
	// process. The job is retried with backoff (a rolling deploy makes this
	// routine) with this reason in its error.
	ErrUnknownKind = errors.New("joblot: unknown job kind")
	// ErrUndecodableArgs: a job's args do not decode into its kind's args
	// type; the job goes dead with the reason.
	ErrUndecodableArgs = errors.New("joblot: undecodable job args")
	// ErrJobTimeout: an attempt ran past its timeout and was cancelled.
	ErrJobTimeout = errors.New("joblot: job timed out")
	// ErrJobCancelled: the cause of a running job's context when CancelJob
	// cancelled it. Unless the attempt succeeds anyway, it ends cancelled:
	// not retried, counted in Stats.Cancelled.
	ErrJobCancelled = errors.New("joblot: job cancelled")
	// ErrNotInBatch: BatchFromContext was used outside a batch job.
	ErrNotInBatch = errors.New("joblot: job is not part of a batch")
	// ErrMetaTooLarge: a job's metadata and trace context take more than
	// MaxMetaBytes in its stored form; the enqueue stores nothing.
	ErrMetaTooLarge = errors.New("joblot: job metadata too large")
	// ErrTooManySnoozes: a job snoozed more often than its kind allows
	// (WorkerOpts.MaxSnoozes); that snooze is a failed attempt with this
	// reason, retried or dead like any failure.
	ErrTooManySnoozes = errors.New("joblot: job snoozed too many times")

	// Errors from storage, re-exported so callers need not import backend.
	ErrStoreFull      = backend.ErrStoreFull
	ErrBatchNotFound  = backend.ErrBatchNotFound
	ErrJobNotFound    = backend.ErrJobNotFound
	ErrBatchFinished  = backend.ErrBatchFinished
	ErrVersionTooNew  = backend.ErrVersionTooNew
	ErrUnsafeEviction = backend.ErrUnsafeEviction
	// ErrUniqueInBatch: a unique job (EnqueueOpts.Unique) cannot be added
	// to a batch nor be a batch callback; nothing of that call is stored.
	ErrUniqueInBatch = backend.ErrUniqueInBatch
)
