package bolt

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// CommitStats counts the group commits (commit.go) a Backend made since
// Open: how many durable transactions its writes shared and how long their
// commits took. Jobs processed over Commits is the jobs one fsync'd commit
// carried; CommitTime over Commits is what a commit costs on this disk.
type CommitStats struct {
	// Commits is the read-write transactions committed.
	Commits int64
	// Ops is the write calls (enqueues, fetches, acks, ...) they carried.
	Ops int64
	// CommitTime is the time spent in the commits themselves: writing the
	// dirty pages and the meta page and fsyncing both.
	CommitTime time.Duration
	// WriteTime is the part of CommitTime spent writing and fsyncing (the
	// dirty pages, then the meta page); the rest is bbolt's in-memory
	// work (rebalancing and spilling the changed nodes into pages).
	WriteTime time.Duration
	// PagesWritten is the pages those writes carried, meta pages included.
	PagesWritten int64
	// RoundTime is the time the commit loop was busy: running the ops of
	// each round plus its commit.
	RoundTime time.Duration
}

// recentCommits is how many of the last commit times recentCost keeps.
const recentCommits = 16

// commitCounters are the counters behind CommitStats, written by the
// commit loop alone and read by anyone, and the last commit times
// (InFlightHint).
type commitCounters struct {
	commits, ops, commitNs, roundNs atomic.Int64

	mu     sync.Mutex
	recent [recentCommits]time.Duration // ring, next at commits % recentCommits
}

// record adds one committed round.
func (c *commitCounters) record(ops int, commit, round time.Duration) {
	c.mu.Lock()
	c.recent[c.commits.Load()%recentCommits] = commit
	c.commits.Add(1)
	c.mu.Unlock()
	c.ops.Add(int64(ops))
	c.commitNs.Add(int64(commit))
	c.roundNs.Add(int64(round))
}

// recentCost is the median time of the last commits and how many it is
// over (at most recentCommits; 0 and 0 before the first).
func (c *commitCounters) recentCost() (time.Duration, int) {
	c.mu.Lock()
	n := int(min(c.commits.Load(), recentCommits))
	ds := slices.Clone(c.recent[:n])
	c.mu.Unlock()
	if n == 0 {
		return 0, 0
	}
	slices.Sort(ds)
	return ds[n/2], n
}

// CommitStats returns the group-commit counters since Open.
func (b *Backend) CommitStats() CommitStats {
	c := &b.commits
	tx := b.db.Stats().TxStats
	return CommitStats{
		WriteTime:    tx.GetWriteTime(),
		PagesWritten: tx.GetWrite(),
		Commits:      c.commits.Load(),
		Ops:          c.ops.Load(),
		CommitTime:   time.Duration(c.commitNs.Load()),
		RoundTime:    time.Duration(c.roundNs.Load()),
	}
}
