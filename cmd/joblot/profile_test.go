package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestProfilesWritten: --cpuprofile and --allocprofile write gzipped pprof
// profiles once the command ends, here a bench run that also sets the
// server's prefetch and fetch chunk.
func TestProfilesWritten(t *testing.T) {
	dir := t.TempDir()
	cpu, alloc := filepath.Join(dir, "cpu.prof"), filepath.Join(dir, "alloc.prof")
	m := decode(t, mustRun(t, "bench", "--db", filepath.Join(dir, "joblot.db"), "--jobs", "500",
		"--prefetch", "7", "--fetch-chunk", "3", "--cpuprofile", cpu, "--allocprofile", alloc, "--json"))
	if got := num(t, m, "succeeded"); got != 500 {
		t.Errorf("succeeded = %v, want 500", got)
	}
	for _, p := range []string{cpu, alloc} {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
			t.Errorf("%s is not a gzipped profile (%d bytes)", filepath.Base(p), len(b))
		}
	}
}
