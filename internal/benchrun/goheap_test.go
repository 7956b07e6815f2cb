package benchrun

import "testing"

var sink []*[64]byte

// TestGoHeapCountsAllocation: the counters move with what the process
// allocates (a wrong metric name would read zero and pass silently
// otherwise), and since divides by the jobs.
func TestGoHeapCountsAllocation(t *testing.T) {
	// The runtime counts a span's allocations when the span is handed
	// back, so a reading lags by up to a span of objects: many
	// allocations, and a margin.
	before := readGoHeap()
	for range 100_000 {
		sink = append(sink, new([64]byte))
	}
	sink = nil
	got := readGoHeap().since(before, 1000)
	if got.AllocsPerJob < 90 || got.AllocBytesPerJob < 90*64 {
		t.Fatalf("after 100,000 allocations of 64 B over 1,000 jobs: %+v, want ≥ 90 allocs and ≥ 5,760 B per job", got)
	}
}

// TestProcessCPUAdvances: where the platform tells, the process's CPU
// time grows with work and reaches the per-job figure.
func TestProcessCPUAdvances(t *testing.T) {
	if _, ok := processCPU(); !ok {
		t.Skip("this platform does not report process CPU time")
	}
	before := readGoHeap()
	x := uint64(1)
	for range 50_000_000 { // tens of milliseconds of CPU; a reading that never moves fails
		x = x*6364136223846793005 + 1442695040888963407
	}
	if got := readGoHeap().since(before, 1); got.CPUMicrosPerJob <= 0 {
		t.Fatalf("after 50M multiplications (%d): %v µs of CPU", x%2, got.CPUMicrosPerJob)
	}
}
