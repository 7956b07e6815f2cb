package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/joblot/joblot/backend"
)

// shutdownGrace is how long Serve lets calls in progress finish once its
// context is done, before it cancels them.
const shutdownGrace = 5 * time.Second

// Defaults of Server's limits.
const (
	// DefaultMaxRequestBytes is Server.MaxRequestBytes's default: 16 MiB,
	// far above any single job and small enough that a runaway client
	// cannot balloon the owner's memory.
	DefaultMaxRequestBytes = 16 << 20
	// DefaultBodyTimeout is Server.BodyTimeout's default.
	DefaultBodyTimeout = 30 * time.Second
	// headerTimeout bounds reading a request's header.
	headerTimeout = 10 * time.Second
	// idleTimeout closes a connection idle between calls. It is longer
	// than a Client keeps an idle connection (clientIdleTimeout), so the
	// client closes first and never sends on a connection being closed.
	idleTimeout = 2 * clientIdleTimeout
	// maxDrainBytes bounds how much of an oversized body the owner reads
	// and discards (within the body timeout, holding nothing), so that a
	// client still sending reads the refusal instead of a reset
	// connection.
	maxDrainBytes = 1 << 30
)

// errNoQuiet answers the quiet methods when the served backend has none.
var errNoQuiet = fmt.Errorf("joblot: the served backend cannot quiet processes: %w", errors.ErrUnsupported)

// errShuttingDown answers a call that arrives as the owner stops.
var errShuttingDown = fmt.Errorf("owner is shutting down: %w", ErrNoOwner)

// Server serves a backend.Backend on a listener with bounded requests. The
// zero Server uses the defaults; Serve is the zero Server's Serve.
type Server struct {
	// MaxRequestBytes is the largest request body the owner reads
	// (default DefaultMaxRequestBytes). A larger one is answered with an
	// error wrapping ErrRequestTooLarge. Clients learn the limit at Dial
	// and split their large calls to fit.
	MaxRequestBytes int64
	// BodyTimeout bounds reading one request's body once its header has
	// arrived (default DefaultBodyTimeout); a slower client is answered
	// with an error and disconnected. It does not bound the call itself.
	BodyTimeout time.Duration
}

// withDefaults fills the zero fields.
func (s Server) withDefaults() Server {
	if s.MaxRequestBytes <= 0 {
		s.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if s.BodyTimeout <= 0 {
		s.BodyTimeout = DefaultBodyTimeout
	}
	return s
}

// Serve answers Backend calls on l until ctx is done, with the default
// limits (see Server.Serve).
func Serve(ctx context.Context, l net.Listener, b backend.Backend) error {
	return Server{}.Serve(ctx, l, b)
}

// Serve answers Backend calls on l until ctx is done, then stops accepting,
// lets calls in progress finish (cancelling them after a short grace) and
// closes l. b is typically a *bolt.Backend.
//
// Serve returns only after every call it started has returned, so the
// caller may close b as soon as Serve returns. It returns nil when stopped
// by ctx, and the listener's error otherwise.
func (s Server) Serve(ctx context.Context, l net.Listener, b backend.Backend) error {
	s = s.withDefaults()
	// Every call holds calls' read lock; Serve takes the write lock once
	// the server has stopped, which waits for the calls still running and
	// refuses (TryRLock fails) any that would start after.
	var calls sync.RWMutex
	srv := &http.Server{
		Handler:           s.newHandler(b, &calls),
		ReadHeaderTimeout: headerTimeout,
		IdleTimeout:       idleTimeout,
		// No ReadTimeout: it would also cancel the context of a call
		// that runs longer; readBody bounds the body alone.
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()

	var err error
	select {
	case err = <-served:
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
		if srv.Shutdown(sctx) != nil {
			_ = srv.Close() // closing the connections cancels their calls
		}
		cancel()
		<-served
	}
	calls.Lock()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// readBody reads r's body within s's limits. On failure it answers the
// client itself, closing the connection, and returns false.
func (s Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	rc := http.NewResponseController(w)
	_ = rc.SetReadDeadline(time.Now().Add(s.BodyTimeout))
	body, err := readLimited(r.Body, r.ContentLength, s.MaxRequestBytes)
	switch {
	case errors.Is(err, ErrRequestTooLarge):
		_, _ = io.CopyN(io.Discard, r.Body, maxDrainBytes)
		w.Header().Set("Connection", "close")
		writeJSON(w, http.StatusRequestEntityTooLarge, encodeError(fmt.Errorf("joblot: remote %s: the request is larger than the %d bytes the owner accepts: %w", r.URL.Path, s.MaxRequestBytes, err)))
		return nil, false
	case err != nil:
		w.Header().Set("Connection", "close")
		writeJSON(w, http.StatusRequestTimeout, &wireError{Message: fmt.Sprintf("joblot: remote %s: reading the request body: %v", r.URL.Path, err)})
		return nil, false
	}
	// The call itself may take as long as it needs.
	_ = rc.SetReadDeadline(time.Time{})
	return body, true
}

// readLimited reads body (of length bytes, -1 if unknown) whole, or fails
// with ErrRequestTooLarge as soon as it is known to exceed limit.
func readLimited(body io.Reader, length, limit int64) ([]byte, error) {
	if length > limit {
		return nil, ErrRequestTooLarge
	}
	if length >= 0 {
		// The server ends the body at its Content-Length: one exact
		// allocation, no growing.
		buf := make([]byte, length)
		if _, err := io.ReadFull(body, buf); err != nil {
			return nil, err
		}
		return buf, nil
	}
	buf, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(buf)) > limit {
		return nil, ErrRequestTooLarge
	}
	return buf, nil
}

// newHandler routes /v1/<Method> to b.
func (s Server) newHandler(b backend.Backend, calls *sync.RWMutex) http.Handler {
	mux := http.NewServeMux()
	h := func(method string, fn func(http.ResponseWriter, *http.Request, []byte)) {
		mux.Handle("POST /v1/"+method, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, ok := s.readBody(w, r)
			if !ok {
				return
			}
			if !calls.TryRLock() {
				writeJSON(w, http.StatusServiceUnavailable, encodeError(errShuttingDown))
				return
			}
			defer calls.RUnlock()
			fn(w, r, body)
		}))
	}
	mr, isMR := b.(backend.MemoryReporter)

	h("Hello", serve(func(ctx context.Context, _ empty) (helloResp, error) {
		return helloResp{Protocol: protocolVersion, PID: os.Getpid(), Memory: isMR, MaxRequest: s.MaxRequestBytes}, nil
	}))
	h("Enqueue", serve(func(ctx context.Context, req enqueueReq) (enqueueResp, error) {
		res, err := b.Enqueue(ctx, req.Jobs)
		return enqueueResp{Skipped: res.Skipped}, err
	}))
	h("Fetch", serve(func(ctx context.Context, req fetchReq) (fetchResp, error) {
		fs, err := b.Fetch(ctx, req.Proc, req.Queues, req.Max)
		resp := fetchResp{Jobs: make([]*wireFetched, len(fs))}
		for i, f := range fs {
			resp.Jobs[i] = toWireFetched(f)
		}
		return resp, err
	}))
	h("Complete", serve(func(ctx context.Context, req completeReq) (empty, error) {
		results := make([]backend.Result, len(req.Results))
		for i, r := range req.Results {
			if r == nil {
				return empty{}, fmt.Errorf("result %d is null", i)
			}
			results[i] = backend.Result{
				Fetched: fromWireFetched(r.Fetched), Outcome: r.Outcome, Job: r.Job,
				RetryAt: r.RetryAt, Duration: r.Duration,
			}
		}
		return empty{}, b.Complete(ctx, req.Proc, results)
	}))
	h("Heartbeat", serve(func(ctx context.Context, req heartbeatReq) (empty, error) {
		return empty{}, b.Heartbeat(ctx, req.Info, req.TTL)
	}))
	h("Deregister", serve(func(ctx context.Context, req procReq) (empty, error) {
		return empty{}, b.Deregister(ctx, req.Proc)
	}))
	h("MoveDue", serve(func(ctx context.Context, req nowReq) (countResp, error) {
		n, err := b.MoveDue(ctx, req.Now, req.Limit)
		return countResp{n}, err
	}))
	h("RecoverOrphans", serve(func(ctx context.Context, req nowReq) (countResp, error) {
		n, err := b.RecoverOrphans(ctx, req.Now)
		return countResp{n}, err
	}))
	h("TrimDead", serve(func(ctx context.Context, req nowReq) (countResp, error) {
		n, err := b.TrimDead(ctx, req.Now)
		return countResp{n}, err
	}))
	h("Lease", serve(func(ctx context.Context, req leaseReq) (leaseResp, error) {
		held, err := b.Lease(ctx, req.Name, req.Holder, req.TTL)
		return leaseResp{held}, err
	}))
	h("Stats", serve(func(ctx context.Context, req nowReq) (*backend.Stats, error) {
		return b.Stats(ctx, req.Now)
	}))
	h("ErrorGroups", serve(func(ctx context.Context, req errorGroupsReq) ([]backend.ErrorGroupStat, error) {
		return b.ErrorGroups(ctx, req.Filter, req.Now)
	}))
	h("ListJobs", serve(func(ctx context.Context, req backend.JobFilter) (*backend.JobPage, error) {
		return b.ListJobs(ctx, req)
	}))
	h("RetryJobs", serve(func(ctx context.Context, req jobsReq) (countResp, error) {
		n, err := b.RetryJobs(ctx, req.Set, req.Queue, req.IDs)
		return countResp{n}, err
	}))
	h("DeleteJobs", serve(func(ctx context.Context, req jobsReq) (countResp, error) {
		n, err := b.DeleteJobs(ctx, req.Set, req.Queue, req.IDs)
		return countResp{n}, err
	}))
	h("CreateBatch", serve(func(ctx context.Context, req *backend.BatchSpec) (empty, error) {
		return empty{}, b.CreateBatch(ctx, req)
	}))
	h("AddToBatch", serve(func(ctx context.Context, req *backend.BatchAdd) (addResp, error) {
		if req == nil {
			return addResp{}, errors.New("null batch add")
		}
		err := b.AddToBatch(ctx, req)
		resp := addResp{Assigned: make([]assigned, len(req.Jobs))}
		for i, j := range req.Jobs {
			if j != nil {
				resp.Assigned[i] = assigned{j.BatchID, j.BatchIndex}
			}
		}
		return resp, err
	}))
	h("CommitBatch", serve(func(ctx context.Context, req batchReq) (empty, error) {
		return empty{}, b.CommitBatch(ctx, req.ID)
	}))
	h("BatchStatus", serve(func(ctx context.Context, req batchReq) (*backend.BatchStatus, error) {
		return b.BatchStatus(ctx, req.ID)
	}))
	h("ListBatches", serve(func(ctx context.Context, req backend.BatchListOptions) ([]*backend.BatchStatus, error) {
		return b.ListBatches(ctx, req)
	}))
	h("CancelBatch", serve(func(ctx context.Context, req batchReq) (empty, error) {
		return empty{}, b.CancelBatch(ctx, req.ID)
	}))
	h("BatchesCancelled", serve(func(ctx context.Context, req idsReq) (cancelledResp, error) {
		m, err := b.BatchesCancelled(ctx, req.IDs)
		return cancelledResp{m}, err
	}))
	h("CancelJob", serve(func(ctx context.Context, req cancelJobReq) (cancelJobResp, error) {
		r, err := b.CancelJob(ctx, req.Queue, req.ID)
		return cancelJobResp{r}, err
	}))
	h("FindJob", serve(func(ctx context.Context, req cancelJobReq) (findJobResp, error) {
		j, set, err := b.FindJob(ctx, req.Queue, req.ID)
		return findJobResp{j, set}, err
	}))
	h("SetLimits", serve(func(ctx context.Context, req limitsReq) (backend.SetLimitsResult, error) {
		return b.SetLimits(ctx, backend.SetLimitsParams{Queue: req.Queue, Limit: req.Limit})
	}))
	h("PauseQueue", serve(func(ctx context.Context, req queueReq) (empty, error) {
		return empty{}, b.PauseQueue(ctx, req.Queue, req.Paused)
	}))
	h("ClearQueue", serve(func(ctx context.Context, req queueReq) (countResp, error) {
		n, err := b.ClearQueue(ctx, req.Queue)
		return countResp{n}, err
	}))
	h("DeleteBatch", serve(func(ctx context.Context, req batchReq) (empty, error) {
		return empty{}, b.DeleteBatch(ctx, req.ID)
	}))
	h("ForwardCallbacks", serve(func(ctx context.Context, req nowReq) (countResp, error) {
		n, err := b.ForwardCallbacks(ctx, req.Now)
		return countResp{n}, err
	}))
	quieter, isQuieter := b.(backend.Quieter)
	h("RequestQuiet", serve(func(ctx context.Context, req procReq) (empty, error) {
		if !isQuieter {
			return empty{}, errNoQuiet
		}
		return empty{}, quieter.RequestQuiet(ctx, req.Proc)
	}))
	h("QuietRequested", serve(func(ctx context.Context, req procReq) (quietResp, error) {
		if !isQuieter {
			return quietResp{}, errNoQuiet
		}
		q, err := quieter.QuietRequested(ctx, req.Proc)
		return quietResp{q}, err
	}))
	h("Memory", serve(func(ctx context.Context, _ empty) (backend.MemoryInfo, error) {
		if !isMR {
			return backend.MemoryInfo{}, fmt.Errorf("joblot: the served backend does not report memory: %w", errors.ErrUnsupported)
		}
		return mr.Memory(ctx)
	}))
	return mux
}

// serve adapts one method to HTTP: it decodes the request body (read by
// readBody) into Req, calls fn with the request's context (cancelled when
// the client goes away) and writes either its result (200) or its error
// (400 for a body that does not decode, 500 otherwise).
func serve[Req, Resp any](fn func(context.Context, Req) (Resp, error)) func(http.ResponseWriter, *http.Request, []byte) {
	return func(w http.ResponseWriter, r *http.Request, body []byte) {
		var req Req
		if err := json.Unmarshal(body, &req); err != nil {
			writeJSON(w, http.StatusBadRequest, &wireError{Message: fmt.Sprintf("joblot: remote %s: bad request body: %v", r.URL.Path, err)})
			return
		}
		resp, err := callSafely(r.Context(), fn, req)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, encodeError(err))
			return
		}
		writeJSON(w, http.StatusOK, resp)
	}
}

// callSafely calls fn, turning a panic in the backend into an error so that
// the client gets an answer and the owner's other work goes on.
func callSafely[Req, Resp any](ctx context.Context, fn func(context.Context, Req) (Resp, error), req Req) (resp Resp, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("joblot: backend panicked: %v", p)
		}
	}()
	return fn(ctx, req)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // a client that went away needs no answer
}
