package joblot

import "testing"

// TestLeaderWakesFollowersOnlyForABacklog: the leading fetch loop wakes the
// idle followers after a fetch that came back full (the queue has more),
// not after one that came back short (it emptied the queue: a follower
// would fetch nothing).
func TestLeaderWakesFollowersOnlyForABacklog(t *testing.T) {
	const capacity = 20
	f, b, sl := newChunkFetcher(t, capacity)
	f.testSignals.handedOver.Init(t)
	f.wg.Add(1)
	go f.loop(true)
	t.Cleanup(f.stop)

	if n := waitRecv(t, "the first fetch", b.asked); n != capacity {
		t.Fatalf("first fetch asked for %d, want %d", n, capacity)
	}
	if wake := f.testSignals.handedOver.WaitOrTimeout(); !wake {
		t.Fatal("a full fetch did not wake the followers")
	}
	b.short.Store(true) // the next fetch empties the queue
	sl.release(10)      // enough for a fetch without lingering
	if n := waitRecv(t, "the second fetch", b.asked); n != 10 {
		t.Fatalf("second fetch asked for %d, want 10", n)
	}
	if wake := f.testSignals.handedOver.WaitOrTimeout(); wake {
		t.Fatal("a fetch that came back short woke the followers")
	}
}
