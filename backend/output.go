package backend

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// ErrNoOutput: the store holds no output or progress for that job (none
// was recorded, the attempt that recorded progress failed, the record
// expired or was dropped by the byte cap).
var ErrNoOutput = errors.New("joblot: no output recorded for this job")

// Default output limits (Limits.OutputTTL, Limits.OutputMaxBytes).
const (
	DefaultOutputTTL      = 24 * time.Hour
	DefaultOutputMaxBytes = 64 << 20
)

// MaxProgressNote bounds the note of a progress record, in bytes.
const MaxProgressNote = 200

// OutputSweep is how many expired records a backend removes before each
// output write (the janitor removes the rest): more than one, so expiry
// outpaces writes.
const OutputSweep = 16

// JobOutput is what a worker recorded about a job: its progress while it
// runs, and its output once it succeeded. Succeeded jobs are otherwise
// deleted, so this is the only trace of what they returned: the store
// keeps a record for Limits.OutputTTL after its last write, within a
// global byte cap (Limits.OutputMaxBytes); a write beyond the cap is
// dropped and counted in Stats.OutputDropped. A failed attempt keeps
// nothing: its progress record is removed.
type JobOutput struct {
	// Queue and ID name the job.
	Queue string `json:"queue"`
	ID    string `json:"id"`
	// Output is the JSON value the worker recorded (joblot.SetOutput),
	// nil when it recorded none. Only a succeeded job has one.
	Output json.RawMessage `json:"output,omitempty"`
	// Succeeded says the job succeeded: the record is final.
	Succeeded bool `json:"succeeded,omitempty"`
	// Progress (0-100) and Note are the last progress the worker recorded
	// (joblot.SetProgress); HasProgress says it recorded any.
	Progress    int    `json:"progress,omitempty"`
	Note        string `json:"note,omitempty"`
	HasProgress bool   `json:"has_progress,omitempty"`
	// UpdatedAt is when the record was last written; it expires
	// Limits.OutputTTL later.
	UpdatedAt time.Time `json:"updated_at"`
}

// Validate checks what a backend stores: names, progress range, note
// size, and that the output is JSON. The output's size is the caller's to
// bound (the byte cap bounds the store).
func (o *JobOutput) Validate() error {
	switch {
	case o.Queue == "" || o.ID == "":
		return errors.New("joblot: job output without queue or id")
	case o.Progress < 0 || o.Progress > 100:
		return fmt.Errorf("joblot: progress %d out of 0..100", o.Progress)
	case len(o.Note) > MaxProgressNote:
		return fmt.Errorf("joblot: progress note of %d bytes: at most %d", len(o.Note), MaxProgressNote)
	case o.Output != nil && !json.Valid(o.Output):
		return errors.New("joblot: job output is not JSON")
	}
	return nil
}

// OutputMember names a job's record in a store: the queue's length, a
// colon, the queue and the id, so that no two (queue, id) pairs share a
// name whatever bytes they hold.
func OutputMember(queue, id string) string {
	return strconv.Itoa(len(queue)) + ":" + queue + id
}

// EncodeOutput is a record's stored form: one byte saying whether it is
// final ('S') or a running job's progress ('P'), then its JSON. Scripts
// read the first byte only (a late progress write never replaces a final
// record).
func EncodeOutput(o *JobOutput) ([]byte, error) {
	b, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("joblot: encode job output: %w", err)
	}
	tag := byte('P')
	if o.Succeeded {
		tag = 'S'
	}
	return append([]byte{tag}, b...), nil
}

// DecodeOutput reads what EncodeOutput wrote.
func DecodeOutput(b []byte) (*JobOutput, error) {
	if len(b) < 2 || b[0] != 'P' && b[0] != 'S' {
		return nil, errors.New("joblot: malformed job output record")
	}
	var o JobOutput
	if err := json.Unmarshal(b[1:], &o); err != nil {
		return nil, fmt.Errorf("joblot: decode job output: %w", err)
	}
	return &o, nil
}

// SetProgressParams is a running job's progress, for
// OutputStore.SetProgress.
type SetProgressParams struct {
	Queue, ID string
	// Progress is 0-100; Note at most MaxProgressNote bytes.
	Progress int
	Note     string
	// Now is the write's time (the record's UpdatedAt).
	Now time.Time
}

// SetProgressResult says what SetProgress did.
type SetProgressResult struct {
	// Stored is false when the write was dropped: by the byte cap (and
	// counted in Stats.OutputDropped), or because the job's record is
	// already final.
	Stored bool
}

// OutputStore is implemented by backends that keep job output and
// progress. A periodic duty removes the records whose Limits.OutputTTL
// has passed (TrimDead on Redis, the janitor of ForwardCallbacks on the
// embedded store); a record past it that is not yet removed is not
// returned. The final output travels with the success ack
// (Result.Output), so recording it costs no extra round trip; only
// progress of a running job is written on its own, and the caller
// coalesces those writes.
type OutputStore interface {
	// SetProgress records a running job's progress, replacing its
	// previous record unless that one is final. A write that would take
	// the store's records past Limits.OutputMaxBytes is dropped, counted,
	// and removes the job's previous record (so no stale progress stays).
	SetProgress(ctx context.Context, p SetProgressParams) (SetProgressResult, error)
	// JobOutput returns the record of job id of queue, or an error
	// wrapping ErrNoOutput.
	JobOutput(ctx context.Context, queue, id string) (*JobOutput, error)
}
