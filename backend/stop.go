package backend

import "context"

// Stopper is implemented by backends through which an operator can ask a
// running process to stop gracefully (finish or return its jobs within its
// shutdown timeout, deregister and exit its Run) from another machine or
// process. Like a quiet request (Quieter), the request is a mark the store
// keeps with the process's registration; the process reads it on its
// heartbeat.
type Stopper interface {
	// RequestStop marks process id as asked to stop. It fails with an
	// error wrapping ErrProcessNotFound when no live process has that id.
	RequestStop(ctx context.Context, id string) error
	// StopRequested reports whether process id was asked to stop.
	StopRequested(ctx context.Context, id string) (bool, error)
}

// ProcessRequests are the operator's requests for a process (Quieter,
// Stopper), as the process reads them on its heartbeat.
type ProcessRequests struct {
	// Quiet: the process was asked to quiet, or said it is quiet.
	Quiet bool
	// Stop: the process was asked to stop.
	Stop bool
}

// ProcessRequestsReader is implemented by backends that read both of a
// process's requests in one store call: the heartbeater then asks once per
// beat instead of once for each.
type ProcessRequestsReader interface {
	// ProcessRequests reports what process id was asked; an unknown
	// process was asked nothing.
	ProcessRequests(ctx context.Context, id string) (ProcessRequests, error)
}
