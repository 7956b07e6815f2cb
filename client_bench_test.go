package joblot

import (
	"context"
	"testing"
	"time"
)

// BenchmarkBuildJob is the client's cost of building one job to enqueue,
// without storage.
func BenchmarkBuildJob(b *testing.B) {
	c := NewClient(nil, ClientConfig{Logger: testLogger()})
	ctx, now := context.Background(), time.Now()
	p := EnqueueParams{Args: greetArgs{Name: "someone", N: 12345}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.buildJob(ctx, p, now); err != nil {
			b.Fatal(err)
		}
	}
}
