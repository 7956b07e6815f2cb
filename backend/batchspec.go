package backend

import (
	"fmt"
	"slices"
	"time"
)

// CallbackEvents lists the batch events that fire callbacks, in the order
// they can fire.
var CallbackEvents = [...]CallbackEvent{CallbackComplete, CallbackSettled, CallbackSuccess, CallbackDeath}

// CallbackJobs validates spec and returns the callback jobs a backend stores
// for it, one per event that has a template: a clone of the template with
// its deterministic ID (CallbackJobID), CallbackOf and CallbackEvent set, and
// the fields that only a queued job may carry (batch membership, RunAt)
// cleared. Every backend calls it, so the rules live here once.
func (s *BatchSpec) CallbackJobs() (map[CallbackEvent]*Job, error) {
	if s == nil || s.ID == "" {
		return nil, fmt.Errorf("%w: no batch ID", ErrInvalidBatchSpec)
	}
	if s.ParentID == s.ID {
		return nil, fmt.Errorf("%w: batch %s cannot be its own parent", ErrInvalidBatchSpec, s.ID)
	}
	out := make(map[CallbackEvent]*Job, len(s.Callbacks))
	for ev, tpl := range s.Callbacks {
		if tpl == nil {
			continue
		}
		if !slices.Contains(CallbackEvents[:], ev) {
			return nil, fmt.Errorf("%w: batch %s: unknown callback event %q", ErrInvalidBatchSpec, s.ID, ev)
		}
		if tpl.Queue == "" || tpl.Kind == "" {
			return nil, fmt.Errorf("%w: batch %s: the %s callback needs a kind and a queue", ErrInvalidBatchSpec, s.ID, ev)
		}
		j := tpl.Clone()
		j.ID = CallbackJobID(s.ID, ev)
		j.CallbackOf, j.CallbackEvent = s.ID, ev
		j.BatchID, j.BatchIndex, j.RunAt = "", 0, time.Time{}
		out[ev] = j
	}
	return out, nil
}
