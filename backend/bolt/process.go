package bolt

import (
	"context"
	"fmt"
	"slices"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/joblot/joblot/backend"
)

// Processes and leases live in memory: one process owns the file, so no
// other process can read them, and Open recovers whatever in-flight jobs a
// previous run left behind.

type procState struct {
	info   backend.ProcessInfo
	expiry time.Time
	// quietRequested: an operator asked the process to quiet
	// (RequestQuiet); it reads the mark on its heartbeat.
	quietRequested bool
	// stopRequested: an operator asked the process to stop
	// (RequestStop); it reads the mark on its heartbeat.
	stopRequested bool
}

type leaseState struct {
	holder string
	expiry time.Time
}

// Heartbeat registers or refreshes proc's lease. A process that has
// heartbeated before and was since declared dead (its jobs recovered) gets
// an error wrapping backend.ErrFenced.
func (b *Backend) Heartbeat(ctx context.Context, info backend.ProcessInfo, ttl time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if info.ID == "" {
		return fmt.Errorf("joblot/bolt: heartbeat: process has no ID")
	}
	now := b.now()
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := b.procs[info.ID]
	if !ok && b.registered[info.ID] {
		return fmt.Errorf("joblot/bolt: heartbeat of process %s: %w", info.ID, backend.ErrFenced)
	}
	if ok {
		// A bare heartbeat (ID only) keeps what registration said.
		if info.Hostname == "" {
			info.Hostname = p.info.Hostname
		}
		if info.PID == 0 {
			info.PID = p.info.PID
		}
		if info.Queues == nil {
			info.Queues = p.info.Queues
		}
		if info.Concurrency == 0 {
			info.Concurrency = p.info.Concurrency
		}
		if info.StartedAt.IsZero() {
			info.StartedAt = p.info.StartedAt
		}
		info.Quiet = info.Quiet || p.info.Quiet // quiet is for good
	}
	info.Queues = slices.Clone(info.Queues)
	info.LastBeat = now
	b.registered[info.ID] = true
	b.procs[info.ID] = &procState{info: info, expiry: now.Add(ttl), quietRequested: ok && p.quietRequested,
		stopRequested: ok && p.stopRequested}
	return nil
}

var _ backend.Quieter = (*Backend)(nil)

// RequestQuiet implements backend.Quieter. The mark lives in this owner's
// memory with the process's registration; other processes reach it through
// the local endpoint (backend/remote).
func (b *Backend) RequestQuiet(ctx context.Context, id string) error {
	return b.markProcess(ctx, id, "quiet", func(p *procState) { p.quietRequested = true })
}

// QuietRequested implements backend.Quieter.
func (b *Backend) QuietRequested(ctx context.Context, id string) (bool, error) {
	r, err := b.ProcessRequests(ctx, id)
	return r.Quiet, err
}

// markProcess records an operator's request (quiet, stop) on a live
// process's registration.
func (b *Backend) markProcess(ctx context.Context, id, what string, mark func(*procState)) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := b.procs[id]
	if !ok {
		return fmt.Errorf("joblot/bolt: %s process %q: %w", what, id, backend.ErrProcessNotFound)
	}
	mark(p)
	return nil
}

// Deregister forgets proc after a clean shutdown and puts its remaining
// in-flight jobs back at the head of their queues (Recoveries unchanged).
func (b *Backend) Deregister(ctx context.Context, proc string) error {
	b.mu.Lock()
	delete(b.procs, proc)
	b.mu.Unlock()
	if !b.hasInFlight(func(p string) bool { return p == proc }) {
		return nil
	}
	_, err := b.recoverWhere(ctx, func(p string) bool { return p == proc }, false)
	return wrapErr("deregister", err)
}

// RecoverOrphans puts the in-flight jobs of processes whose lease expired
// before now (and of processes this run never heard of) back at the head of
// their queues, with Recoveries incremented; a job reaching MaxRecoveries
// goes dead as a poison pill. It writes only when there is something to
// recover.
func (b *Backend) RecoverOrphans(ctx context.Context, now time.Time) (int, error) {
	b.mu.Lock()
	for id, p := range b.procs {
		if p.expiry.Before(now) {
			delete(b.procs, id) // its next heartbeat is fenced
		}
	}
	live := make(map[string]bool, len(b.procs))
	for id := range b.procs {
		live[id] = true
	}
	b.mu.Unlock()
	orphan := func(p string) bool { return !live[p] }
	if !b.hasInFlight(orphan) {
		return 0, ctx.Err()
	}
	n, err := b.recoverWhere(ctx, orphan, true)
	return n, wrapErr("recover orphans", err)
}

// recoverAll recovers every in-flight job (Open: the previous run is gone).
func (b *Backend) recoverAll(ctx context.Context) (int, error) {
	all := func(string) bool { return true }
	if !b.hasInFlight(all) {
		return 0, nil
	}
	return b.recoverWhere(ctx, all, true)
}

// hasInFlight reports whether some in-flight job belongs to a process
// match selects.
func (b *Backend) hasInFlight(match func(proc string) bool) bool {
	found := false
	_ = b.view(func(tx *bbolt.Tx) error {
		all := tx.Bucket(bucketQueues)
		if all == nil {
			return nil
		}
		return all.ForEachBucket(func(name []byte) error {
			cur := all.Bucket(name).Bucket(subWip).Cursor()
			for k, _ := cur.First(); k != nil && !found; k, _ = cur.Next() {
				found = match(wipProc(k))
			}
			return nil
		})
	})
	return found
}

// recoverWhere moves the in-flight jobs of the processes match selects
// back to the head of their queues, keeping their order. With count set,
// each recovery counts in Job.Recoveries and a poison pill goes dead.
func (b *Backend) recoverWhere(ctx context.Context, match func(proc string) bool, count bool) (int, error) {
	n := 0
	err := b.update(ctx, func(c *txc) error {
		n = 0
		qs, err := c.allQueues()
		if err != nil {
			return err
		}
		for _, q := range qs {
			var keys, payloads [][]byte
			cur := q.wip.Cursor()
			for k, v := cur.First(); k != nil; k, v = cur.Next() {
				if match(wipProc(k)) {
					keys = append(keys, clone(k))
					payloads = append(payloads, clone(v))
				}
			}
			for i, k := range keys {
				if err := q.wip.Delete(k); err != nil {
					return err
				}
				if err := q.limitRelease(wipID(payloads[i]), c.now); err != nil {
					return err
				}
			}
			q.n.InFlight -= int64(len(keys))
			q.dirty = q.dirty || len(keys) > 0
			deadAdded := false
			for i := len(payloads) - 1; i >= 0; i-- {
				p := payloads[i]
				n++
				if !count {
					if err := q.pushHead(p, c.now); err != nil {
						return err
					}
					continue
				}
				j, err := backend.DecodeJob(p)
				if err != nil {
					// Malformed: back to the queue as is; the server
					// sends it dead with the reason when it fetches it.
					if err := q.pushHead(p, c.now); err != nil {
						return err
					}
					continue
				}
				j.Recoveries++
				if j.Recoveries < backend.MaxRecoveries {
					if err := q.pushHead(encode(j), c.now); err != nil {
						return err
					}
					continue
				}
				if err := c.poisonPill(q, j); err != nil {
					return err
				}
				deadAdded = true
			}
			if deadAdded {
				if _, err := c.dropDead(q, func(*qtx) bool { return q.n.Dead > c.b.limits.DeadMaxJobs }); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return n, err
}

// poisonPill sends a job recovered MaxRecoveries times in a row dead.
func (c *txc) poisonPill(q *qtx, j *backend.Job) error {
	j.MarkPoisonPill(c.now)
	if err := q.releaseUnique(j); err != nil {
		return err
	}
	if j.BatchID != "" {
		eff, tracked, err := c.batchJobEvent(j, backend.EventDied, j)
		if err != nil {
			return err
		}
		if tracked && !eff.WriteDead {
			return nil
		}
	}
	p := encode(j)
	q.n.Dead++
	q.n.DeadBytes += int64(len(p))
	// Counted as the Redis backend counts a death: one processed attempt,
	// one recorded failure (backend.Stats).
	q.n.Processed++
	q.n.Failed++
	c.countDay(1, 1)
	c.countErrorGroup(q.name, j)
	return q.addSet(q.dead, c.now, p)
}

// Lease implements backend.Backend (see lease).
func (b *Backend) Lease(ctx context.Context, p backend.LeaseParams) (backend.LeaseResult, error) {
	held, err := b.lease(ctx, p.Name, p.Holder, p.TTL)
	return backend.LeaseResult{Held: held}, err
}

// lease takes or extends the named lease for holder; a ttl of zero or less
// gives it up if holder has it.
func (b *Backend) lease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	if err := ctx.Err(); err != nil {
		return false, err
	}
	// Wall clock, like the Redis backend's lease (PX, on Redis's clock): a
	// lease excludes live holders in real time, and a fake clock standing
	// still must not keep a departed holder's lease forever.
	now := time.Now()
	b.mu.Lock()
	defer b.mu.Unlock()
	l, ok := b.leases[name]
	if ttl <= 0 { // give it up
		if ok && l.holder == holder {
			delete(b.leases, name)
		}
		return false, nil
	}
	if ok && l.holder != holder && l.expiry.After(now) {
		return false, nil
	}
	b.leases[name] = &leaseState{holder: holder, expiry: now.Add(ttl)}
	return true, nil
}

// inFlightByProc counts in-flight jobs per process (Stats).
func inFlightByProc(tx *bbolt.Tx) map[string]int {
	out := map[string]int{}
	all := tx.Bucket(bucketQueues)
	if all == nil {
		return out
	}
	_ = all.ForEachBucket(func(name []byte) error {
		cur := all.Bucket(name).Bucket(subWip).Cursor()
		for k, _ := cur.First(); k != nil; k, _ = cur.Next() {
			out[wipProc(k)]++
		}
		return nil
	})
	return out
}
