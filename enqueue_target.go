package joblot

import "github.com/joblot/joblot/backend"

// enqueueTarget is what enqueue middleware learns about a job beyond its
// options: the batch it joins or the batch event it is the callback of,
// which the backend records only when it stores the job.
type enqueueTarget struct {
	batchID       string
	callbackOf    string
	callbackEvent backend.CallbackEvent
	// derivedID: the job's ID is derived when it is stored (a batch add
	// from inside a running job), so the one it has now is not its own.
	derivedID bool
}

// describe fills ej's ID and batch fields for a job built with ID id.
func (to enqueueTarget) describe(ej *EnqueueJob, id string) {
	ej.ID, ej.BatchID = id, to.batchID
	switch {
	case to.callbackOf != "":
		// The backend stores a callback under an ID derived from its batch.
		ej.ID, ej.CallbackOf, ej.CallbackEvent = backend.CallbackJobID(to.callbackOf, to.callbackEvent), to.callbackOf, to.callbackEvent
	case to.derivedID:
		ej.ID = ""
	}
}
