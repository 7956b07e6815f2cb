package joblot

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/joblot/joblot/backend"
)

// cancelCache remembers which batches are cancelled for a short while, so
// skipping a cancelled batch's jobs costs one storage call per batch per
// TTL, not one per job. Its TTL paces storage calls, so it runs on the
// wall clock, not the injected one.
type cancelCache struct {
	ttl time.Duration
	mu  sync.Mutex
	m   map[string]cancelEntry
}

type cancelEntry struct {
	cancelled bool
	checked   time.Time
}

func newCancelCache(ttl time.Duration) *cancelCache {
	return &cancelCache{ttl: ttl, m: map[string]cancelEntry{}}
}

func (c *cancelCache) set(ids []string, cancelled map[string]bool) {
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) > 10_000 { // bounded: entries are cheap to re-fetch
		clear(c.m)
	}
	for _, id := range ids {
		c.m[id] = cancelEntry{cancelled: cancelled[id], checked: now}
	}
}

func (c *cancelCache) cancelled(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[id].cancelled
}

// refresh asks storage, in one call, whether the batches of the fetched
// jobs whose cached answer is stale are cancelled, each batch once however
// many of its jobs came. The fetcher calls it for what it claimed, RunOne
// for its job; the executor reads the answers.
func (c *cancelCache) refresh(ctx context.Context, b backend.Backend, logger *slog.Logger, fetched []*backend.Fetched) {
	var stale []string
	var asked map[string]bool // made by the first stale batch: most fetches find none
	now, last := time.Now(), ""
	c.mu.Lock()
	for _, f := range fetched {
		id := f.BatchID
		if f.Malformed != nil || id == "" || id == last {
			continue // a fetch holds runs of one batch's jobs: one lookup per run
		}
		last = id
		if e, ok := c.m[id]; (!ok || now.Sub(e.checked) > c.ttl) && !asked[id] {
			if asked == nil {
				asked = map[string]bool{}
			}
			asked[id] = true
			stale = append(stale, id)
		}
	}
	c.mu.Unlock()
	if len(stale) == 0 {
		return
	}
	got, err := b.BatchesCancelled(ctx, stale)
	if err != nil {
		logger.Warn("joblot: checking cancelled batches failed", "err", err)
		return
	}
	c.set(stale, got)
}
