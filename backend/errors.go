package backend

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
)

// Sentinel errors callers branch on. Backends wrap them with %w.
var (
	// ErrStoreFull: the store refuses writes (Redis at maxmemory, disk
	// full). Enqueue fails with it; acks and deletes keep draining.
	ErrStoreFull = errors.New("joblot: store is full")
	// ErrFenced: this process lost its lease; it must stop fetching.
	ErrFenced = errors.New("joblot: process fenced (lease lost)")
	// ErrVersionTooNew: the store was written by a newer joblot.
	ErrVersionTooNew = errors.New("joblot: store data model is newer than this joblot")
	// ErrBatchNotFound: no such batch (never created, deleted or expired).
	ErrBatchNotFound = errors.New("joblot: batch not found")
	// ErrBatchFinished: the batch succeeded, was cancelled or expired and
	// takes no more jobs.
	ErrBatchFinished = errors.New("joblot: batch is finished")
	// ErrInvalidBatchSpec: CreateBatch refuses the spec (no ID, its own
	// parent, an unknown callback event, a callback without kind or queue).
	ErrInvalidBatchSpec = errors.New("joblot: invalid batch spec")
	// ErrUnsafeEviction: Redis would evict keys (maxmemory-policy is not
	// noeviction), which silently loses jobs.
	ErrUnsafeEviction = errors.New("joblot: redis maxmemory-policy is not noeviction")
	// ErrJobNotFound: CancelJob found no such job to cancel (it is not
	// in flight, scheduled or retrying, and its queue holds no waiting job).
	ErrJobNotFound = errors.New("joblot: job not found")
	// ErrLocked: the embedded store file is owned by another process.
	ErrLocked = errors.New("joblot: store is locked by another process")
	// ErrUniqueInBatch: AddToBatch refuses a unique job (Job.Unique): a
	// batch member skipped as a duplicate would leave its batch pending
	// forever.
	ErrUniqueInBatch = errors.New("joblot: a batch job cannot be unique")
)

// CheckBatchJobs returns an error wrapping ErrUniqueInBatch if one of jobs
// is unique: AddToBatch calls it before storing anything.
func CheckBatchJobs(jobs []*Job) error {
	for i, j := range jobs {
		if j != nil && len(j.UnknownFields) > 0 && j.UniqueKey() != "" {
			return fmt.Errorf("%w: job %d (%s)", ErrUniqueInBatch, i, j.Kind)
		}
	}
	return nil
}

// MalformedJobID is the ID under which a payload that cannot be decoded is
// tracked while in flight and in the dead set.
func MalformedJobID(raw []byte) string {
	sum := sha1.Sum(raw)
	return "malformed-" + hex.EncodeToString(sum[:10])
}
