package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/joblot/joblot/backend"
)

// routes registers every served method, one line each. A method shaped
// Name(ctx, NameParams) (NameResult, error) registers as the method
// expression backend.Backend.Name, and its Client method is one call of
// call; the others adapt their positional values (or, for Fetch and
// Complete, the wire form of backend.Fetched) here.
func (s Server) routes(r *router) {
	mr, isMR := r.b.(backend.MemoryReporter)
	quieter, isQuieter := r.b.(backend.Quieter)
	outputs, isOutputStore := r.b.(backend.OutputStore)
	inFlight, isProcessJobs := r.b.(backend.ProcessJobsReader)
	stopper, isStopper := r.b.(backend.Stopper)
	requests, isRequests := r.b.(backend.ProcessRequestsReader)

	register(r, "Hello", func(backend.Backend, context.Context, empty) (helloResp, error) {
		return helloResp{Protocol: protocolVersion, PID: os.Getpid(), Memory: isMR, MaxRequest: s.MaxRequestBytes}, nil
	})
	register(r, "Enqueue", backend.Backend.Enqueue)
	register(r, "Fetch", fetch)
	register(r, "Complete", complete)
	register(r, "Heartbeat", func(b backend.Backend, ctx context.Context, p pair[backend.ProcessInfo, time.Duration]) (empty, error) {
		return empty{}, b.Heartbeat(ctx, p.A, p.B)
	})
	register(r, "Deregister", errOnly(backend.Backend.Deregister))
	register(r, "MoveDue", func(b backend.Backend, ctx context.Context, p pair[time.Time, int]) (int, error) {
		return b.MoveDue(ctx, p.A, p.B)
	})
	register(r, "RecoverOrphans", backend.Backend.RecoverOrphans)
	register(r, "TrimDead", backend.Backend.TrimDead)
	register(r, "Lease", backend.Backend.Lease)
	register(r, "FirePeriodic", backend.Backend.FirePeriodic)
	register(r, "SetPeriodic", errOnly(backend.Backend.SetPeriodic))
	register(r, "ListPeriodic", func(b backend.Backend, ctx context.Context, _ empty) ([]backend.PeriodicState, error) {
		return b.ListPeriodic(ctx)
	})
	register(r, "Stats", backend.Backend.Stats)
	register(r, "Throughput", backend.Backend.Throughput)
	register(r, "ErrorGroups", func(b backend.Backend, ctx context.Context, p pair[backend.ErrorGroupFilter, time.Time]) ([]backend.ErrorGroupStat, error) {
		return b.ErrorGroups(ctx, p.A, p.B)
	})
	register(r, "ListJobs", backend.Backend.ListJobs)
	register(r, "RetryJobs", backend.Backend.RetryJobs)
	register(r, "DeleteJobs", backend.Backend.DeleteJobs)
	register(r, "PauseQueue", backend.Backend.PauseQueue)
	register(r, "SetLimits", backend.Backend.SetLimits)
	register(r, "CancelJob", func(b backend.Backend, ctx context.Context, p pair[string, string]) (backend.CancelResult, error) {
		return b.CancelJob(ctx, p.A, p.B)
	})
	register(r, "FindJob", func(b backend.Backend, ctx context.Context, p pair[string, string]) (backend.FindJobResult, error) {
		return b.FindJob(ctx, p.A, p.B)
	})
	register(r, "ClearQueue", backend.Backend.ClearQueue)
	register(r, "CreateBatch", errOnly(backend.Backend.CreateBatch))
	register(r, "AddToBatch", addToBatch)
	register(r, "CommitBatch", errOnly(backend.Backend.CommitBatch))
	register(r, "BatchStatus", backend.Backend.BatchStatus)
	register(r, "ListBatches", backend.Backend.ListBatches)
	register(r, "CancelBatch", errOnly(backend.Backend.CancelBatch))
	register(r, "BatchesCancelled", backend.Backend.BatchesCancelled)
	register(r, "DeleteBatch", errOnly(backend.Backend.DeleteBatch))
	register(r, "VerifyBatch", backend.Backend.VerifyBatch)
	register(r, "ForwardCallbacks", backend.Backend.ForwardCallbacks)
	register(r, "RequestQuiet", func(_ backend.Backend, ctx context.Context, proc string) (empty, error) {
		if !isQuieter {
			return empty{}, errNoQuiet
		}
		return empty{}, quieter.RequestQuiet(ctx, proc)
	})
	register(r, "QuietRequested", func(_ backend.Backend, ctx context.Context, proc string) (bool, error) {
		if !isQuieter {
			return false, errNoQuiet
		}
		return quieter.QuietRequested(ctx, proc)
	})
	register(r, "RequestStop", func(_ backend.Backend, ctx context.Context, proc string) (empty, error) {
		if !isStopper {
			return empty{}, errNoStop
		}
		return empty{}, stopper.RequestStop(ctx, proc)
	})
	register(r, "StopRequested", func(_ backend.Backend, ctx context.Context, proc string) (bool, error) {
		if !isStopper {
			return false, errNoStop
		}
		return stopper.StopRequested(ctx, proc)
	})
	register(r, "ProcessRequests", func(_ backend.Backend, ctx context.Context, proc string) (backend.ProcessRequests, error) {
		if !isRequests {
			return backend.ProcessRequests{}, errNoStop
		}
		return requests.ProcessRequests(ctx, proc)
	})
	register(r, "ProcessJobs", func(_ backend.Backend, ctx context.Context, p backend.ProcessJobsParams) (backend.ProcessJobsResult, error) {
		if !isProcessJobs {
			return backend.ProcessJobsResult{}, fmt.Errorf("joblot: the served backend cannot list a process's jobs: %w", errors.ErrUnsupported)
		}
		return inFlight.ProcessJobs(ctx, p)
	})
	register(r, "SetProgress", func(_ backend.Backend, ctx context.Context, p backend.SetProgressParams) (backend.SetProgressResult, error) {
		if !isOutputStore {
			return backend.SetProgressResult{}, errNoOutput
		}
		return outputs.SetProgress(ctx, p)
	})
	register(r, "JobOutput", func(_ backend.Backend, ctx context.Context, p pair[string, string]) (*backend.JobOutput, error) {
		if !isOutputStore {
			return nil, errNoOutput
		}
		return outputs.JobOutput(ctx, p.A, p.B)
	})
	register(r, "Memory", func(_ backend.Backend, ctx context.Context, _ empty) (backend.MemoryInfo, error) {
		if !isMR {
			return backend.MemoryInfo{}, fmt.Errorf("joblot: the served backend does not report memory: %w", errors.ErrUnsupported)
		}
		return mr.Memory(ctx)
	})
}

// fetch serves Fetch, with the fetched jobs in wire form.
func fetch(b backend.Backend, ctx context.Context, p backend.FetchParams) ([]*wireFetched, error) {
	res, err := b.Fetch(ctx, p)
	out := make([]*wireFetched, len(res.Jobs))
	for i, f := range res.Jobs {
		out[i] = toWireFetched(f)
	}
	return out, err
}

// complete serves Complete, whose results come in wire form.
func complete(b backend.Backend, ctx context.Context, p completeParams) (empty, error) {
	results := make([]backend.Result, len(p.B))
	for i, r := range p.B {
		if r == nil {
			return empty{}, fmt.Errorf("result %d is null", i)
		}
		results[i] = backend.Result{
			Fetched: fromWireFetched(r.Fetched), Outcome: r.Outcome, Job: r.Job,
			RetryAt: r.RetryAt, Duration: r.Duration, Output: r.Output,
		}
	}
	return empty{}, b.Complete(ctx, p.A, results)
}

// addToBatch serves AddToBatch, answering with the BatchID and BatchIndex
// it assigned to each job (see Client.AddToBatch).
func addToBatch(b backend.Backend, ctx context.Context, add *backend.BatchAdd) ([]assigned, error) {
	if add == nil {
		return nil, errors.New("null batch add")
	}
	err := b.AddToBatch(ctx, add)
	out := make([]assigned, len(add.Jobs))
	for i, j := range add.Jobs {
		if j != nil {
			out[i] = assigned{j.BatchID, j.BatchIndex}
		}
	}
	return out, err
}

// errOnly adapts a method that returns only an error.
func errOnly[P any](fn func(backend.Backend, context.Context, P) error) func(backend.Backend, context.Context, P) (empty, error) {
	return func(b backend.Backend, ctx context.Context, p P) (empty, error) {
		return empty{}, fn(b, ctx, p)
	}
}

// router is what register adds a method to: the mux, the served backend,
// and the Server whose limits every request is read within.
type router struct {
	s     Server
	mux   *http.ServeMux
	b     backend.Backend
	calls *sync.RWMutex // see Server.Serve
}

// register serves method at POST /v1/<method>: it reads the body within
// the Server's limits, decodes it into P (400 if it does not decode), calls
// fn with the request's context (cancelled when the client goes away) and
// answers with its result R (200) or its error (500).
func register[P, R any](r *router, method string, fn func(backend.Backend, context.Context, P) (R, error)) {
	r.mux.Handle("POST /v1/"+method, http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, ok := r.s.readBody(w, req)
		if !ok {
			return
		}
		if !r.calls.TryRLock() {
			writeJSON(w, http.StatusServiceUnavailable, encodeError(errShuttingDown))
			return
		}
		defer r.calls.RUnlock()
		var p P
		if err := json.Unmarshal(body, &p); err != nil {
			writeJSON(w, http.StatusBadRequest, &wireError{Message: fmt.Sprintf("joblot: remote %s: bad request body: %v", req.URL.Path, err)})
			return
		}
		res, err := callSafely(req.Context(), r.b, fn, p)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, encodeError(err))
			return
		}
		writeJSON(w, http.StatusOK, res)
	}))
}

// callSafely calls fn, turning a panic in the backend into an error so that
// the client gets an answer and the owner's other work goes on.
func callSafely[P, R any](ctx context.Context, b backend.Backend, fn func(backend.Backend, context.Context, P) (R, error), p P) (res R, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("joblot: backend panicked: %v", v)
		}
	}()
	return fn(b, ctx, p)
}
