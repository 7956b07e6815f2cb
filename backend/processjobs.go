package backend

import (
	"context"
	"slices"
	"strings"
)

// DefaultProcessJobsLimit is the jobs ProcessJobs returns when
// ProcessJobsParams.Limit is zero or less.
const DefaultProcessJobsLimit = 100

// ProcessJobsReader is implemented by backends that can list the jobs a
// process holds in flight, for operators (the dashboard's processes page).
type ProcessJobsReader interface {
	// ProcessJobs returns the jobs process p.Proc holds in flight, at
	// most p.Limit of them, sorted by queue then ID. A payload that
	// cannot be decoded comes back as a job with only ID (MalformedJobID)
	// and Queue. A process that holds nothing, or is unknown, has none:
	// no error.
	ProcessJobs(ctx context.Context, p ProcessJobsParams) (ProcessJobsResult, error)
}

// ProcessJobsParams are the arguments of ProcessJobs.
type ProcessJobsParams struct {
	// Proc is the process id (ProcessInfo.ID).
	Proc string
	// Limit bounds the jobs returned (default DefaultProcessJobsLimit).
	Limit int
}

// ProcessJobsResult is what ProcessJobs found.
type ProcessJobsResult struct {
	// Jobs are the in-flight jobs, at most Limit.
	Jobs []*Job
	// More reports that the process holds more jobs than were returned.
	More bool
}

// SortLimit sorts jobs by queue then ID and keeps the first limit
// (DefaultProcessJobsLimit when limit <= 0), setting More when some were
// dropped: the one ordering every backend's ProcessJobs returns.
func (r *ProcessJobsResult) SortLimit(limit int) {
	if limit <= 0 {
		limit = DefaultProcessJobsLimit
	}
	slicesSortJobs(r.Jobs)
	if len(r.Jobs) > limit {
		r.Jobs, r.More = r.Jobs[:limit], true
	}
}

// slicesSortJobs sorts jobs by queue then ID.
func slicesSortJobs(jobs []*Job) {
	slices.SortFunc(jobs, func(a, b *Job) int {
		if c := strings.Compare(a.Queue, b.Queue); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}
