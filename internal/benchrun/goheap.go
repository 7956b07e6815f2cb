package benchrun

import (
	"runtime/metrics"
	"time"
)

// goHeap is this process's cumulative Go allocation counters at one
// instant. The difference of two readings says how much the run
// allocated and how many GC cycles that caused: a figure that, unlike
// times, does not move with the machine's noise, and the one that drives
// how often the collector takes CPU from the jobs.
type goHeap struct {
	bytes, objects, cycles uint64
	cpu                    time.Duration // process CPU, user and system; 0 where unknown
}

// readGoHeap reads the counters.
func readGoHeap() goHeap {
	s := []metrics.Sample{
		{Name: "/gc/heap/allocs:bytes"},
		{Name: "/gc/heap/allocs:objects"},
		{Name: "/gc/cycles/total:gc-cycles"},
	}
	metrics.Read(s)
	var h goHeap
	h.cpu, _ = processCPU()
	for i, p := range []*uint64{&h.bytes, &h.objects, &h.cycles} {
		if s[i].Value.Kind() == metrics.KindUint64 {
			*p = s[i].Value.Uint64()
		}
	}
	return h
}

// GoHeapResult is what the process allocated during a measured phase,
// per job, the GC cycles that ran and the CPU time it took. It counts the
// whole process: the server, the client and the bench's own bookkeeping.
type GoHeapResult struct {
	AllocBytesPerJob float64 `json:"go_alloc_bytes_per_job"`
	AllocsPerJob     float64 `json:"go_allocs_per_job"`
	GCCycles         uint64  `json:"go_gc_cycles"`
	// CPUMicrosPerJob is the process's CPU time (user and system, every
	// thread) per job; 0 where the platform does not tell.
	CPUMicrosPerJob float64 `json:"process_cpu_us_per_job"`
}

// since returns the allocation from before to h, over jobs jobs.
func (h goHeap) since(before goHeap, jobs int64) GoHeapResult {
	n := float64(max(jobs, 1))
	return GoHeapResult{
		AllocBytesPerJob: float64(h.bytes-before.bytes) / n,
		AllocsPerJob:     float64(h.objects-before.objects) / n,
		GCCycles:         h.cycles - before.cycles,
		CPUMicrosPerJob:  float64((h.cpu-before.cpu)/time.Microsecond) / n,
	}
}
