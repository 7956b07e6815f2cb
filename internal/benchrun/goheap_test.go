package benchrun

import "testing"

var sink []*[64]byte

// TestGoHeapCountsAllocation: the counters move with what the process
// allocates (a wrong metric name would read zero and pass silently
// otherwise), and since divides by the jobs.
func TestGoHeapCountsAllocation(t *testing.T) {
	before := readGoHeap()
	for range 1000 {
		sink = append(sink, new([64]byte))
	}
	sink = nil
	got := readGoHeap().since(before, 10)
	if got.AllocsPerJob < 100 || got.AllocBytesPerJob < 100*64 {
		t.Fatalf("after 1,000 allocations of 64 B over 10 jobs: %+v, want ≥ 100 allocs and ≥ 6,400 B per job", got)
	}
}
