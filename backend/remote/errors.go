package remote

import (
	"context"
	"errors"

	"github.com/joblot/joblot/backend"
)

// ErrNoOwner: no running process serves the store's socket (it does not
// exist, or nobody answers on it). The caller may open the store file
// itself.
var ErrNoOwner = errors.New("joblot: no running process serves this store")

// ErrRequestTooLarge: one call's request is larger than the owner accepts
// (Server.MaxRequestBytes). Client splits Enqueue, AddToBatch and Complete
// into requests that fit, so only a single job (or result) larger than the
// limit gets it; nothing of such a call is sent.
var ErrRequestTooLarge = errors.New("joblot: request too large for the local endpoint")

// codes lists each error that callers branch on with its wire code, most
// specific first (an error wrapping several gets the first code). Codes are
// part of the protocol: never rename one.
func codes() []struct {
	code string
	err  error
} {
	return []struct {
		code string
		err  error
	}{
		{"store_full", backend.ErrStoreFull},
		{"fenced", backend.ErrFenced},
		{"version_too_new", backend.ErrVersionTooNew},
		{"batch_not_found", backend.ErrBatchNotFound},
		{"job_not_found", backend.ErrJobNotFound},
		{"batch_finished", backend.ErrBatchFinished},
		{"invalid_batch_spec", backend.ErrInvalidBatchSpec},
		{"unsafe_eviction", backend.ErrUnsafeEviction},
		{"locked", backend.ErrLocked},
		{"malformed_job", backend.ErrMalformedJob},
		{"process_not_found", backend.ErrProcessNotFound},
		{"unique_in_batch", backend.ErrUniqueInBatch},
		{"bad_limit", backend.ErrBadLimit},
		{"no_output", backend.ErrNoOutput},
		{"deadline_exceeded", context.DeadlineExceeded},
		{"canceled", context.Canceled},
		{"no_owner", ErrNoOwner},
		{"request_too_large", ErrRequestTooLarge},
		{"unsupported", errors.ErrUnsupported},
	}
}

// wireError is an error as it travels: the code of the sentinel it wraps
// ("" if none) and its full message.
type wireError struct {
	Code    string `json:"code,omitempty"`
	Message string `json:"message"`
}

// encodeError returns err's wire form, nil for a nil error.
func encodeError(err error) *wireError {
	if err == nil {
		return nil
	}
	we := &wireError{Message: err.Error()}
	for _, c := range codes() {
		if errors.Is(err, c.err) {
			we.Code = c.code
			break
		}
	}
	return we
}

// decodeError rebuilds an error from its wire form, nil for nil.
func decodeError(we *wireError) error {
	if we == nil {
		return nil
	}
	e := &remoteError{msg: we.Message}
	for _, c := range codes() {
		if c.code == we.Code {
			e.sentinel = c.err
		}
	}
	return e
}

// remoteError is an error that happened in the owner's process. Its message
// is the original one; it wraps the sentinel its code names, if any.
type remoteError struct {
	msg      string
	sentinel error
}

func (e *remoteError) Error() string { return e.msg }

func (e *remoteError) Unwrap() error { return e.sentinel }
