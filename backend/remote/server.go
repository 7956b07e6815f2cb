package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
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

// errNoOutput answers the output methods when the served backend keeps no
// job output.
var errNoOutput = fmt.Errorf("joblot: the served backend keeps no job output: %w", errors.ErrUnsupported)

// errNoQuiet answers the quiet methods when the served backend has none.
var errNoQuiet = fmt.Errorf("joblot: the served backend cannot quiet processes: %w", errors.ErrUnsupported)

// errNoStop answers the stop methods when the served backend has none.
var errNoStop = fmt.Errorf("joblot: the served backend cannot stop processes: %w", errors.ErrUnsupported)

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

// newHandler routes /v1/<Method> to b (see routes).
func (s Server) newHandler(b backend.Backend, calls *sync.RWMutex) http.Handler {
	r := &router{s: s, mux: http.NewServeMux(), b: b, calls: calls}
	s.routes(r)
	return r.mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // a client that went away needs no answer
}
