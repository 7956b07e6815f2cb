package joblot

import (
	"context"
	"encoding/json"
	"net/http"
	"time"
)

// Server states, as Health reports them.
const (
	StateNew      = "new"      // not started
	StateRunning  = "running"  // fetching and running jobs
	StateQuiet    = "quiet"    // fetching no new jobs (Quiet)
	StateFenced   = "fenced"   // lost its lease; waits to re-register
	StateStopping = "stopping" // Stop is draining it
	StateStopped  = "stopped"  // Stop has returned
)

// Liveness: the heartbeat loop must have turned within
// max(livenessBeats × HeartbeatInterval, minLivenessStall). Each turn is
// bounded (its store calls time out after one interval), so a loop that
// has not turned for that long is stuck, not waiting on a slow store.
const (
	livenessBeats    = 10
	minLivenessStall = 30 * time.Second
)

// Health is a server's health, for an orchestrator's probes.
//
// Live says the server's own loops are alive: it was started, has not
// stopped, and its heartbeat loop has turned recently, whether or not the
// store answered. It never depends on the store, so that one store outage
// does not get every process restarted; restart a process that is not
// live.
//
// Ready says the process is doing its job: it is live and running (not
// quiet, fenced, stopping or stopped), and its last heartbeat reached the
// store. A process that is not ready should not count as available (during
// a rolling deploy, for instance); it needs no restart.
type Health struct {
	Live  bool `json:"live"`
	Ready bool `json:"ready"`
	// State is one of the State constants.
	State string `json:"state"`
	// Process is the identity the process heartbeats under.
	Process string `json:"process"`
	// StoreOK says the last heartbeat reached the store.
	StoreOK bool `json:"store_ok"`
	// LastBeat is when the heartbeat loop last turned (on the server's
	// clock, ServerConfig.Now), zero before Start.
	LastBeat time.Time `json:"last_beat,omitzero"`
	// InFlight is how many jobs the process holds (running or prefetched):
	// a quiet process with none left may be stopped without waiting.
	InFlight int64 `json:"in_flight"`
	// Reasons says, in fixed words, why the process is not live or not
	// ready; empty when it is both.
	Reasons []string `json:"reasons,omitempty"`
}

// Health reports the server's liveness and readiness (see Health). It
// makes no store call: it reports what the heartbeat loop last saw, at
// most one HeartbeatInterval ago, so probes cost the store nothing and
// never hang on it. ctx is not used today; it bounds any check a later
// version adds.
func (s *Server) Health(ctx context.Context) Health {
	_ = ctx
	h := Health{Process: s.ProcessID(), InFlight: s.inFlight.Load()}
	switch {
	case s.stopped.Load():
		h.State = StateStopped
	case !s.started.Load():
		h.State = StateNew
	case s.draining.Load():
		h.State = StateStopping
	case s.lease.isFenced():
		h.State = StateFenced
	case s.IsQuiet():
		h.State = StateQuiet
	default:
		h.State = StateRunning
	}
	if s.started.Load() {
		h.LastBeat = time.Unix(0, s.heartbeater.pulse.Load())
		h.StoreOK = s.heartbeater.beatOK.Load()
	}
	switch h.State {
	case StateNew:
		h.Reasons = append(h.Reasons, "not started")
	case StateStopped:
		h.Reasons = append(h.Reasons, "stopped")
	default:
		stall := max(livenessBeats*s.cfg.HeartbeatInterval, minLivenessStall)
		if s.cfg.Now().Sub(h.LastBeat) > stall {
			h.Reasons = append(h.Reasons, "heartbeat loop stuck")
		} else {
			h.Live = true
		}
	}
	if h.Live {
		if h.State != StateRunning {
			h.Reasons = append(h.Reasons, h.State)
		}
		if !h.StoreOK {
			h.Reasons = append(h.Reasons, "store unreachable: the last heartbeat failed")
		}
		h.Ready = len(h.Reasons) == 0
	}
	return h
}

// HealthHandler returns an http.Handler for orchestrator probes: GET
// /livez answers 200 when the server is live and 503 otherwise, GET /readyz
// likewise for ready, each with Health as a small JSON body. Mount it at
// the root of a private port, or under a prefix with http.StripPrefix.
func (s *Server) HealthHandler() http.Handler {
	mux := http.NewServeMux()
	probe := func(ok func(Health) bool) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			h := s.Health(r.Context())
			status := http.StatusOK
			if !ok(h) {
				status = http.StatusServiceUnavailable
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(status)
			_ = json.NewEncoder(w).Encode(h) // a prober that went away needs no answer
		}
	}
	mux.Handle("GET /livez", probe(func(h Health) bool { return h.Live }))
	mux.Handle("GET /readyz", probe(func(h Health) bool { return h.Ready }))
	return mux
}
