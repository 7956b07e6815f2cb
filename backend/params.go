package backend

import "time"

// The parameters and results of the Backend methods that take more than
// two values or a flag. Each method takes one XParams and returns one
// XResult, so that a field can be added without touching every caller, and
// so that backend/remote carries them as they are (their JSON encoding is
// the protocol: keep field names and tags stable).

// FetchParams are Fetch's parameters.
type FetchParams struct {
	// Proc is the process that claims the jobs.
	Proc string `json:"proc"`
	// Queues are tried in this order (the server computes it: strict or
	// weighted).
	Queues []string `json:"queues"`
	// Max is the most jobs to claim.
	Max int `json:"max"`
}

// FetchResult is Fetch's result.
type FetchResult struct {
	// Jobs are the claimed jobs, in flight under FetchParams.Proc.
	Jobs []*Fetched `json:"jobs"`
}

// LeaseParams are Lease's parameters.
type LeaseParams struct {
	// Name names the lease (one per background duty).
	Name string `json:"name"`
	// Holder is who takes or extends it (a process id).
	Holder string `json:"holder"`
	// TTL is how long the lease lasts from now; zero or less gives it up.
	TTL time.Duration `json:"ttl"`
}

// LeaseResult is Lease's result.
type LeaseResult struct {
	// Held reports whether Holder has the lease.
	Held bool `json:"held"`
}

// RetryJobsParams are RetryJobs's parameters.
type RetryJobsParams struct {
	// Set is the set the jobs are in: SetRetry, SetScheduled or SetDead.
	Set JobSet `json:"set"`
	// Queue is the queue of the jobs.
	Queue string `json:"queue"`
	// IDs are the jobs to retry; ids not in the set are ignored.
	IDs []string `json:"ids"`
}

// RetryJobsResult is RetryJobs's result.
type RetryJobsResult struct {
	// Retried counts the jobs moved to their queue.
	Retried int `json:"retried"`
}

// DeleteJobsParams are DeleteJobs's parameters.
type DeleteJobsParams struct {
	// Set is the set the jobs are in.
	Set JobSet `json:"set"`
	// Queue is the queue of the jobs.
	Queue string `json:"queue"`
	// IDs are the jobs to delete; ids not in the set are ignored.
	IDs []string `json:"ids"`
}

// DeleteJobsResult is DeleteJobs's result.
type DeleteJobsResult struct {
	// Deleted counts the jobs removed.
	Deleted int `json:"deleted"`
}

// PauseQueueParams are PauseQueue's parameters.
type PauseQueueParams struct {
	// Queue is the queue to pause or resume.
	Queue string `json:"queue"`
	// Paused pauses the queue when true and resumes it when false.
	Paused bool `json:"paused"`
}

// PauseQueueResult is PauseQueue's result (none yet: it leaves room for
// one without changing the method).
type PauseQueueResult struct{}

// FindJobResult is FindJob's result.
type FindJobResult struct {
	// Job is the job found.
	Job *Job `json:"job"`
	// Set is the set that holds it (SetInFlight for a job claimed by a
	// process).
	Set JobSet `json:"set"`
}
