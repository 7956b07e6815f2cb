package remote

import (
	"time"

	"github.com/joblot/joblot/backend"
)

// protocolVersion is checked at Dial; bump it on any incompatible change of
// the types below.
const protocolVersion = 1

// The request and response bodies, one pair per method. Field names are
// the protocol; backend types travel as their own JSON encoding, which
// carries time.Time and []byte exactly.

type empty struct{}

type helloResp struct {
	Protocol int `json:"protocol"`
	// PID is the owner's process id, for error messages.
	PID int `json:"pid"`
	// Memory reports whether the served backend is a backend.MemoryReporter.
	Memory bool `json:"memory"`
	// MaxRequest is the largest request body the owner accepts, in bytes
	// (absent from owners that predate the limit: DefaultMaxRequestBytes).
	MaxRequest int64 `json:"max_request,omitempty"`
}

type enqueueReq struct {
	Jobs []*backend.Job `json:"jobs"`
}

// enqueueResp is backend.EnqueueResult; an owner that predates it answers
// {}, which reads as "every job stored".
type enqueueResp struct {
	Skipped []backend.Skipped `json:"skipped,omitempty"`
}

type fetchReq struct {
	Proc   string   `json:"proc"`
	Queues []string `json:"queues"`
	Max    int      `json:"max"`
}

type fetchResp struct {
	Jobs []*wireFetched `json:"jobs"`
}

// wireFetched is a backend.Fetched: its Malformed error travels as a
// wireError and comes back wrapping backend.ErrMalformedJob.
type wireFetched struct {
	Job       *backend.Job `json:"job"`
	Raw       []byte       `json:"raw"`
	Malformed *wireError   `json:"malformed,omitempty"`
	Limited   bool         `json:"limited,omitempty"`
}

// limitsReq is a SetLimits call.
type limitsReq struct {
	Queue string             `json:"queue"`
	Limit backend.QueueLimit `json:"limit"`
}

func toWireFetched(f *backend.Fetched) *wireFetched {
	if f == nil {
		return nil
	}
	wf := &wireFetched{Job: f.Job, Raw: f.Raw, Malformed: encodeError(f.Malformed), Limited: f.Limited}
	if wf.Malformed != nil && wf.Malformed.Code == "" {
		// Malformed means "does not decode" whatever the backend's error
		// says; keep errors.Is(f.Malformed, backend.ErrMalformedJob) true.
		wf.Malformed.Code = "malformed_job"
	}
	return wf
}

func fromWireFetched(wf *wireFetched) *backend.Fetched {
	if wf == nil {
		return nil
	}
	return &backend.Fetched{Job: wf.Job, Raw: wf.Raw, Malformed: decodeError(wf.Malformed), Limited: wf.Limited}
}

type completeReq struct {
	Proc    string        `json:"proc"`
	Results []*wireResult `json:"results"`
}

// wireResult is a backend.Result with its Fetched in wire form.
type wireResult struct {
	Fetched  *wireFetched    `json:"fetched"`
	Outcome  backend.Outcome `json:"outcome"`
	Job      *backend.Job    `json:"job,omitempty"`
	RetryAt  time.Time       `json:"retry_at"`
	Duration time.Duration   `json:"duration"`
}

type heartbeatReq struct {
	Info backend.ProcessInfo `json:"info"`
	TTL  time.Duration       `json:"ttl"`
}

type procReq struct {
	Proc string `json:"proc"`
}

// nowReq serves MoveDue, RecoverOrphans, TrimDead, Stats and
// ForwardCallbacks.
type nowReq struct {
	Now   time.Time `json:"now"`
	Limit int       `json:"limit,omitempty"`
}

// errorGroupsReq serves ErrorGroups.
type errorGroupsReq struct {
	Filter backend.ErrorGroupFilter `json:"filter"`
	Now    time.Time                `json:"now"`
}

type countResp struct {
	N int `json:"n"`
}

type leaseReq struct {
	Name   string        `json:"name"`
	Holder string        `json:"holder"`
	TTL    time.Duration `json:"ttl"`
}

type leaseResp struct {
	Held bool `json:"held"`
}

type quietResp struct {
	Quiet bool `json:"quiet"`
}

// jobsReq serves RetryJobs and DeleteJobs.
type jobsReq struct {
	Set   backend.JobSet `json:"set"`
	Queue string         `json:"queue"`
	IDs   []string       `json:"ids"`
}

// queueReq serves the queue administration methods.
type queueReq struct {
	Queue  string `json:"queue"`
	Paused bool   `json:"paused,omitempty"`
}

// batchReq serves the methods that take one batch id.
type cancelJobReq struct {
	Queue string `json:"queue"`
	ID    string `json:"id"`
}

type cancelJobResp struct {
	Result backend.CancelResult `json:"result"`
}

type findJobResp struct {
	Job *backend.Job   `json:"job"`
	Set backend.JobSet `json:"set"`
}

type batchReq struct {
	ID string `json:"id"`
}

// addResp mirrors what AddToBatch assigns to the caller's jobs (BatchID and
// BatchIndex), in the order of BatchAdd.Jobs, so a remote call leaves the
// caller's jobs as an in-process one would.
type addResp struct {
	Assigned []assigned `json:"assigned"`
}

type assigned struct {
	BatchID    string `json:"batch_id"`
	BatchIndex int64  `json:"batch_index"`
}

type idsReq struct {
	IDs []string `json:"ids"`
}

type cancelledResp struct {
	Cancelled map[string]bool `json:"cancelled"`
}
