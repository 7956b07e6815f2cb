package main

import (
	"path/filepath"
	"testing"
)

// bench and demo on a file another process owns run through its local
// endpoint and measure the store through it: the CLI then has no bolt
// handle of its own, and metering used to dereference it.
func TestBenchAndDemoThroughTheOwner(t *testing.T) {
	path := filepath.Join(shortDir(t), "joblot.db")
	startOwner(t, path, true)
	s := []string{"--db", path}

	m := decode(t, mustRun(t, args(s, "bench", "--jobs", "300", "--queue", "owner-bench", "--json")...))
	if got := num(t, m, "succeeded"); got != 300 {
		t.Errorf("bench through the owner: succeeded = %v, want 300", got)
	}
	if got := num(t, m, "lost"); got != 0 {
		t.Errorf("bench through the owner: lost = %v, want 0", got)
	}
	if num(t, m, "used_memory_before") <= 0 {
		t.Errorf("bench through the owner did not measure the file: %v", m)
	}
	if src, _ := m["memory_source"].(string); src != "file size" {
		t.Errorf("bench through the owner: memory_source = %q, want %q", src, "file size")
	}

	out := mustRun(t, args(s, "demo", "--jobs", "200")...)
	for _, want := range []string{"through pid", "thumbnails", "file size", "demo finished"} {
		if !contains(out, want) {
			t.Errorf("demo through the owner: output lacks %q:\n%s", want, out)
		}
	}
}
