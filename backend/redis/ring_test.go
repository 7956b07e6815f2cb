package redis

import (
	"context"
	"testing"

	"github.com/joblot/joblot/backend"
)

// TestEnqueueRingsUnlessPaused: a plain enqueue (an RPUSH, then ring.lua)
// leaves one ring in the queue's bell, however many enqueues, and none
// while the queue is paused, where a woken fetcher would only pop the
// queue's head and put it back; resuming rings.
func TestEnqueueRingsUnlessPaused(t *testing.T) {
	b, _ := openTest(t)
	ctx := context.Background()
	bellLen := func(q string) int64 {
		t.Helper()
		n, err := b.c.Do(ctx, b.c.B().Llen().Key(b.keys.QBell(q)).Build()).AsInt64()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	for range 3 {
		if _, err := b.Enqueue(ctx, []*backend.Job{newJob("open"), newJob("open")}); err != nil {
			t.Fatal(err)
		}
	}
	if n := bellLen("open"); n != 1 {
		t.Fatalf("bell of a queue after 3 enqueues holds %d rings, want 1", n)
	}

	if _, err := b.PauseQueue(ctx, backend.PauseQueueParams{Queue: "shut", Paused: true}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := b.Enqueue(ctx, []*backend.Job{newJob("shut")}); err != nil {
			t.Fatal(err)
		}
	}
	if n := bellLen("shut"); n != 0 {
		t.Fatalf("bell of a paused queue after 3 enqueues holds %d rings, want 0", n)
	}
	if n, err := b.c.Do(ctx, b.c.B().Llen().Key(b.keys.QJobs("shut")).Build()).AsInt64(); err != nil || n != 3 {
		t.Fatalf("paused queue holds %d jobs (err %v), want 3", n, err)
	}
	if _, err := b.PauseQueue(ctx, backend.PauseQueueParams{Queue: "shut", Paused: false}); err != nil {
		t.Fatal(err)
	}
	if n := bellLen("shut"); n != 1 {
		t.Fatalf("bell of a resumed queue holds %d rings, want 1", n)
	}
}
