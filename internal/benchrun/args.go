package benchrun

import (
	"math"
	"time"
)

// JobKind is the kind of the bench's no-op jobs.
const JobKind = "joblot_bench"

// CallbackKind is the kind of the bench's batch callbacks.
const CallbackKind = "joblot_bench_callback"

// Args are a bench job's args: its number, its enqueue time and optional
// padding to reach a payload size. Field names are short because they are
// stored once per job.
type Args struct {
	// N is the job's number, 0..jobs-1: its index in the ledger.
	N int64 `json:"n"`
	// T is the enqueue time in Unix nanoseconds; the worker measures
	// enqueue → start from it.
	T int64 `json:"t"`
	// Pad is filler for --payload-bytes.
	Pad string `json:"p,omitempty"`
}

// Kind implements joblot.JobArgs.
func (Args) Kind() string { return JobKind }

// EnqueuedAt returns T as a time.
func (a Args) EnqueuedAt() time.Time { return time.Unix(0, a.T) }

// CallbackArgs are the args of a bench batch callback. The callback's batch
// and event come from the job's metadata, so the args are empty.
type CallbackArgs struct{}

// Kind implements joblot.JobArgs.
func (CallbackArgs) Kind() string { return CallbackKind }

// Fails reports whether job n is one of the failing fraction rate of jobs.
// The choice is deterministic (a hash of n), so every attempt of a job
// agrees, a re-run of the bench fails the same jobs, and the failing jobs
// are spread evenly over batches instead of bunched at one end.
func Fails(n int64, rate float64) bool {
	switch {
	case rate <= 0:
		return false
	case rate >= 1:
		return true
	}
	return float64(mix64(uint64(n)))/math.MaxUint64 < rate
}

// CountFailing returns how many of jobs 0..jobs-1 fail at rate.
func CountFailing(jobs int64, rate float64) int64 {
	var n int64
	for i := range jobs {
		if Fails(i, rate) {
			n++
		}
	}
	return n
}

// mix64 is SplitMix64's finaliser: a cheap, well-spread hash of n.
func mix64(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
