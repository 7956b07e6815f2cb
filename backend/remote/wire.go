package remote

// protocolVersion is checked at Dial; bump it on any incompatible change of
// what travels: the params and results of backend.Backend's methods, and
// the few types below.
const protocolVersion = 2

// A request body is the method's parameters and an answer its result, as
// their own JSON encoding (which carries time.Time and []byte exactly): a
// backend.XParams and backend.XResult, or, for a method that takes its
// parameters positionally, the one value or a pair of them.

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
