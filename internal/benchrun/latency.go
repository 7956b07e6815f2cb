package benchrun

import (
	"slices"
	"sync/atomic"
	"time"
)

// Recorder collects latency samples from many goroutines without locks:
// each sample goes to its own slot of a preallocated slice. Samples beyond
// the capacity are counted but not kept.
type Recorder struct {
	samples []int64 // nanoseconds
	next    atomic.Int64
}

// NewRecorder returns a recorder for up to capacity samples.
func NewRecorder(capacity int64) *Recorder {
	return &Recorder{samples: make([]int64, capacity)}
}

// Record adds one sample.
func (r *Recorder) Record(d time.Duration) {
	i := r.next.Add(1) - 1
	if i < int64(len(r.samples)) {
		r.samples[i] = int64(d)
	}
}

// Count returns how many samples were recorded (kept or not).
func (r *Recorder) Count() int64 { return r.next.Load() }

// Percentiles returns the given percentiles (0..100) of the kept samples
// in milliseconds, nearest-rank. It must not race with Record.
func (r *Recorder) Percentiles(ps ...float64) []float64 {
	n := min(r.next.Load(), int64(len(r.samples)))
	out := make([]float64, len(ps))
	if n == 0 {
		return out
	}
	sorted := slices.Clone(r.samples[:n])
	slices.Sort(sorted)
	for i, p := range ps {
		out[i] = float64(sorted[rank(p, n)]) / float64(time.Millisecond)
	}
	return out
}

// rank is the nearest-rank index of percentile p among n sorted samples.
func rank(p float64, n int64) int64 {
	k := int64(p/100*float64(n)+0.999999999) - 1 // ceil(p/100·n) - 1
	return max(0, min(k, n-1))
}
