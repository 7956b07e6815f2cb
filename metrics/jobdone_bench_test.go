package metrics

import (
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// BenchmarkJobDone is the observer's hot path: a known (kind, queue) pair.
func BenchmarkJobDone(b *testing.B) {
	c, _ := newTestCollector(nil, Options{})
	c.JobDone("email.send", "default", backend.OutcomeSucceeded, time.Millisecond)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.JobDone("email.send", "default", backend.OutcomeSucceeded, time.Millisecond)
		}
	})
}
