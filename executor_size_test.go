package joblot

import (
	"testing"
	"unsafe"
)

// TestAttemptSize: the attempt, allocated once per job, stays within the
// 384-byte size class; a field more moves every job to the 416-byte one.
// (The output recorder is made only for jobs that record output, see
// outputSlot, for this.)
func TestAttemptSize(t *testing.T) {
	if n := unsafe.Sizeof(attempt{}); n > 384 {
		t.Fatalf("attempt is %d bytes, want at most 384", n)
	}
}
