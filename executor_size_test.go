package joblot

import (
	"testing"
	"unsafe"
)

// TestAttemptSize: the attempt, allocated once per job, stays within the
// 512-byte size class; a field more moves every job to the 576-byte one.
func TestAttemptSize(t *testing.T) {
	if n := unsafe.Sizeof(attempt{}); n > 512 {
		t.Fatalf("attempt is %d bytes, want at most 512", n)
	}
}
