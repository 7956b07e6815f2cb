package remote

import (
	"time"

	"github.com/joblot/joblot/backend"
)

// protocolVersion is checked at Dial; bump it on any incompatible change of
// what travels: the params and results of backend.Backend's methods, and
// the few types below.
const protocolVersion = 2

// A request body is the method's parameters and an answer its result, as
// their own JSON encoding (which carries time.Time and []byte exactly): a
// backend.XParams and backend.XResult, or, for a method that takes its
// parameters positionally, the one value or a pair of them. Only a
// backend.Fetched (in Fetch and Complete) travels in a wire form of its own.

// empty is the request or answer of a method that has none.
type empty struct{}

// pair carries the two parameters of a method that takes them positionally.
type pair[A, B any] struct {
	A A `json:"a"`
	B B `json:"b"`
}

// helloResp answers Hello, the call Dial makes.
type helloResp struct {
	Protocol int `json:"protocol"`
	// PID is the owner's process id, for error messages.
	PID int `json:"pid"`
	// Memory reports whether the served backend is a backend.MemoryReporter.
	Memory bool `json:"memory"`
	// MaxRequest is the largest request body the owner accepts, in bytes.
	MaxRequest int64 `json:"max_request"`
}

// assigned mirrors what AddToBatch assigns to one of the caller's jobs, so
// a remote call leaves the caller's jobs as an in-process one would.
type assigned struct {
	BatchID    string `json:"batch_id"`
	BatchIndex int64  `json:"batch_index"`
}

// wireFetched is a backend.Fetched as it travels, in Fetch's answer and
// Complete's results: its Malformed error travels as a wireError and comes
// back wrapping backend.ErrMalformedJob. (JSON cannot carry an error, and a
// JSON encoding of backend.Fetched itself would double the encoding and
// decoding work of every job fetched and acked through the endpoint: the
// codec re-scans what a custom encoder returns.)
type wireFetched struct {
	Job       *backend.Job `json:"job"`
	Raw       []byte       `json:"raw"`
	Malformed *wireError   `json:"malformed,omitempty"`
	Limited   bool         `json:"limited,omitempty"`
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

// wireResult is a backend.Result with its Fetched in wire form.
type wireResult struct {
	Fetched  *wireFetched    `json:"fetched"`
	Outcome  backend.Outcome `json:"outcome"`
	Job      *backend.Job    `json:"job,omitempty"`
	RetryAt  time.Time       `json:"retry_at"`
	Duration time.Duration   `json:"duration"`
	// Output is backend.Result.Output (absent in the common case).
	Output *backend.JobOutput `json:"output,omitempty"`
}

// completeParams are Complete's parameters as they travel.
type completeParams = pair[string, []*wireResult]
