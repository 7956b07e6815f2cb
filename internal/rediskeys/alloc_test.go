package rediskeys

import "testing"

// The hot-path names (enqueue, fetch, ack) cost one allocation each.
func TestQueueKeysAllocateOnce(t *testing.T) {
	var l Layout
	q, p := "default", "proc-1"
	for name, f := range map[string]func() string{
		"QJobs": func() string { return l.QJobs(q) },
		"QWip":  func() string { return l.QWip(q, p) },
		"QBell": func() string { return l.QBell(q) },
		"BMeta": func() string { return l.BMeta(q) },
	} {
		if n := testing.AllocsPerRun(100, func() { _ = f() }); n > 1 {
			t.Errorf("%s: %v allocations, want 1", name, n)
		}
	}
}
