package redis

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/joblot/joblot/internal/rediskeys"
)

// keyCacheMax bounds how many queues' key names a Backend keeps: a
// process serves and feeds a handful of queues, and a tool that touches
// thousands builds the names of the rest on each call instead.
const keyCacheMax = 1024

// keyCache holds the key names of the queues a Backend enqueues to,
// fetches from and acknowledges on. An enqueue names three of a queue's
// keys, a fetch six and an acknowledgement ten; building them on every
// call cost about five allocations per job, a fifth of all a job costs
// the process, and with them GC cycles that show in the latency tail.
type keyCache struct {
	layout rediskeys.Layout

	mu sync.RWMutex
	m  map[string]*queueKeys
}

func newKeyCache(l rediskeys.Layout) *keyCache {
	return &keyCache{layout: l, m: make(map[string]*queueKeys)}
}

// queue returns queue q's key names, built once while the cache has room.
func (c *keyCache) queue(q string) *queueKeys {
	c.mu.RLock()
	k := c.m[q]
	c.mu.RUnlock()
	if k != nil {
		return k
	}
	k = newQueueKeys(c.layout, q)
	c.mu.Lock()
	if old := c.m[q]; old != nil {
		k = old
	} else if len(c.m) < keyCacheMax {
		c.m[q] = k
	}
	c.mu.Unlock()
	return k
}

// queueKeys are one queue's key names. The fields are immutable; the
// per-process and per-hour names are kept for the last process and hour
// asked, which is all a process asks for but once an hour.
type queueKeys struct {
	layout rediskeys.Layout
	q      string

	jobs, sched, retry, dead, stats, bell, paused, uniq, cancel, limit, prefix string
	// ring is ring.lua's keys (bell, paused). Shared: callers never
	// modify a call's keys.
	ring []string

	proc     atomic.Pointer[procKeys]
	hour     atomic.Pointer[hourKeys]
	complete atomic.Pointer[completeKeys]
}

func newQueueKeys(l rediskeys.Layout, q string) *queueKeys {
	k := &queueKeys{
		layout: l, q: q,
		jobs: l.QJobs(q), sched: l.QSched(q), retry: l.QRetry(q), dead: l.QDead(q), stats: l.QStats(q),
		bell: l.QBell(q), paused: l.QPaused(q), uniq: l.QUniq(q), cancel: l.QCancel(q), limit: l.QLimit(q),
		prefix: l.QPrefix(q),
	}
	k.ring = []string{k.bell, k.paused}
	return k
}

// procKeys are a queue's keys of one process.
type procKeys struct {
	proc, wip, wake string
	// fetch is fetch.lua's keys. Shared: callers never modify a call's
	// keys.
	fetch []string
}

// forProc returns the queue's keys of process proc.
func (k *queueKeys) forProc(proc string) *procKeys {
	if p := k.proc.Load(); p != nil && p.proc == proc {
		return p
	}
	p := &procKeys{proc: proc, wip: k.layout.QWip(k.q, proc), wake: k.layout.QWake(k.q, proc)}
	p.fetch = []string{k.jobs, p.wip, k.paused, k.bell, k.cancel, k.limit}
	k.proc.Store(p)
	return p
}

// completeKeys are complete.lua's keys for one process and hour.
type completeKeys struct {
	proc  *procKeys
	hour  *hourKeys
	names []string
}

// forComplete returns complete.lua's keys for process proc at now. The
// slice is shared: a caller that adds keys must append to it, which
// copies it, never write into it (its capacity is its length).
func (k *queueKeys) forComplete(proc string, now time.Time) []string {
	p, h := k.forProc(proc), k.atHour(now)
	if c := k.complete.Load(); c != nil && c.proc == p && c.hour == h {
		return c.names
	}
	names := []string{p.wip, k.jobs, k.retry, k.dead, k.stats, h.day, k.bell, k.sched, k.uniq, h.minutes}
	k.complete.Store(&completeKeys{proc: p, hour: h, names: names})
	return names
}

// hourKeys are a queue's counter keys of one UTC hour: the day's counters
// and the hour's per-minute counters.
type hourKeys struct {
	unixHour     int64
	day, minutes string
}

// atHour returns the queue's counter keys of now's UTC hour.
func (k *queueKeys) atHour(now time.Time) *hourKeys {
	uh := floorDivR(now.Unix(), 3600)
	if h := k.hour.Load(); h != nil && h.unixHour == uh {
		return h
	}
	utc := now.UTC()
	h := &hourKeys{unixHour: uh, day: k.layout.QDay(k.q, utc.Format("2006-01-02")), minutes: k.layout.QMinutes(k.q, utc.Hour())}
	k.hour.Store(h)
	return h
}
