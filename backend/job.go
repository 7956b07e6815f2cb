package backend

import (
	"encoding/json"
	"maps"
	"time"
)

// Job is one unit of work as the storage layer sees it. The root package
// builds it from a typed args struct at enqueue and hands it back to workers.
// Backends store it in its binary form (see MarshalBinary) and treat that
// form as opaque: every decision that needs a field is made in Go and passed
// to the storage operation explicitly.
type Job struct {
	// ID is unique across the whole store. Client-created jobs get a random,
	// time-ordered ID (NewJobID); callbacks and jobs added from inside a
	// batch job get deterministic IDs so that a replay adds nothing twice.
	ID string
	// Kind names the worker that runs the job.
	Kind string
	// Queue is the queue the job runs on.
	Queue string
	// Args is the encoded args struct (JSON).
	Args []byte

	// Attempt counts the attempts that have finished without success. It is
	// 0 for a fresh job and incremented by the server when an attempt fails,
	// so a worker's JobMeta.Attempt (1 for the first run) is Attempt+1.
	Attempt int
	// MaxRetries is the number of retries after the first attempt: 0 means
	// the default of the job's kind (set on its worker, else the server's),
	// a negative value means no retries.
	MaxRetries int
	// Timeout bounds one attempt; 0 means the worker's default.
	Timeout time.Duration

	// CreatedAt is when the job was first enqueued.
	CreatedAt time.Time
	// RunAt is when a scheduled job becomes due. Zero, or a time not after
	// now, means "run as soon as possible" at enqueue.
	RunAt time.Time

	// BatchID is the batch the job belongs to, empty if none.
	BatchID string
	// BatchIndex is the job's dense index (0..N-1) in its batch, assigned by
	// the backend when the job is added to the batch.
	BatchIndex int64

	// CallbackOf is set on a batch callback job: the batch whose callback
	// this is. CallbackEvent is one of CallbackEvents.
	CallbackOf    string
	CallbackEvent CallbackEvent

	// Error fields describe the last failed attempt. ErrorMessage is
	// truncated by the server (default 1 KiB). ErrorFingerprint groups
	// similar errors (job kind, error class, normalised message).
	ErrorClass       string
	ErrorMessage     string
	ErrorFingerprint string
	// Backtrace is the optional, compressed stack of the last failure.
	Backtrace []byte
	// FailedAt is when the last attempt failed; DiedAt when the job entered
	// the dead set.
	FailedAt time.Time
	DiedAt   time.Time

	// Recoveries counts consecutive recoveries from dead processes. The
	// recoverer increments it; a finished attempt resets it. At
	// MaxRecoveries the job is a poison pill and goes dead.
	Recoveries int
	// ManualRetry marks a job an operator retried from the dead set. Its
	// batch accounting then allows X → F/S (see backend.Transition).
	ManualRetry bool
	// Snoozes counts the times a worker snoozed the job (joblot.JobSnooze):
	// it waited in the scheduled set and ran again without using a retry,
	// so Attempt does not move. The server caps it per kind. (An int32 so
	// that it fits beside ManualRetry: see TraceContext.)
	Snoozes int32

	// Meta is the job's metadata: small string pairs set at enqueue (by the
	// caller or by enqueue middleware) and handed to its worker. Backends
	// store it opaque and carry it through retries, recovery, the dead set
	// and a manual retry. An empty map costs nothing in the stored form;
	// the client caps its size (see MetaSize).
	Meta map[string]string
	// TraceContext is the job's trace context in a compact binary form
	// (e.g. W3C traceparent as version, 16-byte trace id, 8-byte span id
	// and flags, 26 bytes, plus an optional tracestate), set by enqueue
	// middleware and read by worker middleware. Backends store it opaque;
	// empty costs nothing.
	TraceContext TraceContext

	// UnknownFields holds, verbatim and in order, the encoded fields that
	// are not decoded into the fields above: those this version of the
	// codec does not know, and the unique lock (read with Unique, written
	// with SetUnique, so that it costs a decoded Job no bytes). A newer
	// release may add fields that an older process must not strip when it
	// re-encodes the job for a retry or a recovery during a rolling deploy:
	// AppendBinary writes them back after the known fields.
	UnknownFields []byte
}

// MaxRecoveries is the number of consecutive recoveries after which a job is
// declared a poison pill and moved to the dead set.
const MaxRecoveries = 3

// PoisonPillMessage is the error message a poison-pill job dies with.
const PoisonPillMessage = "poison pill: recovered from dead processes 3 times in a row"

// InBatch reports whether the job belongs to a batch.
func (j *Job) InBatch() bool { return j.BatchID != "" }

// Clone returns a deep copy, so a caller can change a fetched job (for a
// retry or dead write) without aliasing the original.
func (j *Job) Clone() *Job {
	c := *j
	c.Args = append([]byte(nil), j.Args...)
	c.Backtrace = append([]byte(nil), j.Backtrace...)
	c.UnknownFields = append([]byte(nil), j.UnknownFields...)
	c.Meta = maps.Clone(j.Meta)
	return &c
}

// TraceContext is binary data held in a string: immutable, and 8 bytes
// smaller than a slice, which keeps a decoded Job (one per fetched job) in
// the allocation size class it had before the field existed. It travels in
// JSON as base64, like a []byte.
type TraceContext string

// MarshalJSON encodes t as a base64 string.
func (t TraceContext) MarshalJSON() ([]byte, error) { return json.Marshal([]byte(t)) }

// UnmarshalJSON decodes what MarshalJSON wrote (null reads as empty).
func (t *TraceContext) UnmarshalJSON(data []byte) error {
	var b []byte
	if err := json.Unmarshal(data, &b); err != nil {
		return err
	}
	*t = TraceContext(b)
	return nil
}
