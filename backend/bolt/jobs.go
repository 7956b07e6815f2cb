package bolt

import (
	"context"
	"encoding/binary"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/joblot/joblot/backend"
)

// Enqueue stores jobs durably in one group-committed transaction: when it
// returns nil, every job it does not list as skipped is on disk.
func (b *Backend) Enqueue(ctx context.Context, jobs []*backend.Job) (backend.EnqueueResult, error) {
	var res backend.EnqueueResult
	if len(jobs) == 0 {
		return res, nil
	}
	if err := validateJobs(jobs); err != nil {
		return res, err
	}
	err := b.update(ctx, func(c *txc) error {
		res.Skipped = res.Skipped[:0] // the transaction may run again
		for i, j := range jobs {
			dup, err := c.enqueue(j)
			if err != nil {
				return wrapErr("enqueue", err)
			}
			if dup != "" {
				res.Skipped = append(res.Skipped, backend.Skipped{Index: i, ExistingID: dup})
			}
		}
		return nil
	})
	if err != nil || len(res.Skipped) == 0 {
		return backend.EnqueueResult{}, err
	}
	return res, nil
}

// Fetch implements backend.Backend (see fetch).
func (b *Backend) Fetch(ctx context.Context, p backend.FetchParams) (backend.FetchResult, error) {
	jobs, err := b.fetch(ctx, p.Proc, p.Queues, p.Max)
	return backend.FetchResult{Jobs: jobs}, err
}

// fetch claims up to max jobs for proc: it moves them from the head of
// each queue, in the given order, to the queue's in-flight bucket under
// proc. Paused queues are skipped. An idle fetch reads only (no commit).
func (b *Backend) fetch(ctx context.Context, proc string, queues []string, max int) ([]*backend.Fetched, error) {
	if max <= 0 || len(queues) == 0 {
		return nil, nil
	}
	if !b.anyQueued(queues) {
		return nil, ctx.Err()
	}
	var raws [][]byte
	var qs []string
	limited := map[int]bool{}
	err := b.update(ctx, func(c *txc) error {
		raws, qs = raws[:0], qs[:0]
		clear(limited)
		for _, name := range queues {
			left := max - len(raws)
			if left <= 0 {
				break
			}
			q, err := c.queue(name, false)
			if err != nil || q == nil || q.paused() {
				continue
			}
			var keys [][]byte
			claimed, taken := 0, 0
			marks := q.bk.Bucket(subCancel) // nil unless jobs were cancelled while queued
			var lim *limiter                // global limits (limits.go)
			if l, ok := q.limit(); ok {
				lim = &limiter{l: l, run: map[string]int{}, fired: map[string]int{}, late: map[string]int{}}
			}
			cur := q.jobs.Cursor()
			for k, v := cur.First(); k != nil && taken < left; k, v = cur.Next() {
				keys = append(keys, clone(k))
				p := clone(v[8:])
				if marks != nil {
					if dropped, err := c.dropIfCancelled(q, marks, p); err != nil || dropped {
						if err != nil {
							return err
						}
						if lim != nil {
							lim.touch(q, p)
						}
						continue
					}
				}
				if lim != nil {
					if ok, err := lim.admit(c, q, p); err != nil || !ok {
						if err != nil {
							return err
						}
						continue // moved aside
					}
					limited[len(raws)] = lim.l.Concurrency > 0
				}
				taken++
				raws, qs = append(raws, p), append(qs, name)
				wk := wipKey(proc, wipID(p))
				if !seekExact(q.wipCursor(), wk) { // a second copy of the same job id shares the entry
					claimed++
				}
				if err := q.wip.Put(wk, p); err != nil {
					return err
				}
			}
			for _, k := range keys {
				if !seekExact(cur, k) {
					continue
				}
				if err := cur.Delete(); err != nil {
					return err
				}
			}
			q.n.Size -= int64(len(keys))
			if lim != nil {
				if err := lim.heal(c, q); err != nil {
					return err
				}
			}
			q.n.InFlight += int64(claimed)
			q.dirty = q.dirty || len(keys) > 0
			if marks != nil && q.n.Size == 0 && !q.limitWaiting() {
				// The ids left name no queued job.
				if err := q.bk.DeleteBucket(subCancel); err != nil {
					return err
				}
			}
			if len(raws) == max && q.n.Size > 0 {
				q.pushed = true // a backlog is left: wake another waiter
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrapErr("fetch", err)
	}
	out := make([]*backend.Fetched, len(raws))
	for i, raw := range raws {
		out[i] = backend.DecodeFetched(qs[i], raw)
		out[i].Limited = limited[i]
	}
	return out, nil
}

// anyQueued reports whether one of queues may have a job to fetch.
func (b *Backend) anyQueued(queues []string) bool {
	found := false
	_ = b.view(func(tx *bbolt.Tx) error {
		all := tx.Bucket(bucketQueues)
		if all == nil {
			return nil
		}
		for _, name := range queues {
			bk := all.Bucket([]byte(name))
			if bk == nil || bk.Get(keyPaused) != nil {
				continue
			}
			if k, _ := bk.Bucket(subJobs).Cursor().First(); k != nil {
				found = true
				return nil
			}
		}
		return nil
	})
	return found
}

// Complete records the outcomes of proc's in-flight jobs in one
// transaction: batch accounting first (its Effect decides whether a retry
// or dead entry is written), then the queue side, which only a job still
// in proc's in-flight bucket writes.
func (b *Backend) Complete(ctx context.Context, proc string, results []backend.Result) error {
	if len(results) == 0 {
		return nil
	}
	err := b.update(ctx, func(c *txc) error {
		requeue := map[*qtx][][]byte{}
		var requeueOrder []*qtx
		deadAdded := map[*qtx]bool{}
		var processed, failed int64
		for _, r := range results {
			f := r.Fetched
			if f == nil || f.Job == nil {
				continue
			}
			if r.Output != nil { // output.go
				if err := c.recordOutput(r); err != nil {
					return err
				}
			}
			writeRetry, writeDead := true, true
			if ev := backend.EventOf(r.Outcome); ev != 0 && f.Malformed == nil && f.BatchID != "" {
				eff, tracked, err := c.batchJobEvent(f.Job, ev, r.Job)
				if err != nil {
					return err
				}
				if tracked {
					writeRetry, writeDead = eff.WriteRetry, eff.WriteDead
				}
			}
			if r.Outcome == backend.OutcomeSucceeded && f.Malformed == nil && f.CallbackOf != "" {
				if err := c.callbackSucceeded(f.CallbackOf, f.CallbackEvent); err != nil {
					return err
				}
			}
			q, err := c.queue(f.Queue, false)
			if err != nil || q == nil {
				continue
			}
			wk := wipKey(proc, wipID(f.Raw))
			wc := q.wipCursor()
			if !seekExact(wc, wk) {
				continue // recovered meanwhile: another process owns the job now
			}
			if err := wc.Delete(); err != nil {
				return err
			}
			if f.Limited {
				if err := q.limitRelease(wipID(f.Raw), c.now); err != nil {
					return err
				}
			}
			q.n.InFlight--
			q.dirty = true
			job := r.Job
			if job == nil {
				job = f.Job
			}
			switch r.Outcome {
			case backend.OutcomeSucceeded:
				q.n.Processed++
				processed++
			case backend.OutcomeRetry:
				q.n.Processed++
				processed++
				if writeRetry {
					q.n.Failed++
					failed++
					q.n.Retry++
					if err := q.addSet(q.retry, r.RetryAt, encode(job)); err != nil {
						return err
					}
					c.countErrorGroup(q.name, job)
				}
			case backend.OutcomeDead:
				q.n.Processed++
				processed++
				if writeDead {
					q.n.Failed++
					failed++
					p := encode(job)
					died := job.DiedAt
					if died.IsZero() {
						died = c.now
					}
					q.n.Dead++
					q.n.DeadBytes += int64(len(p))
					if err := q.addSet(q.dead, died, p); err != nil {
						return err
					}
					deadAdded[q] = true
					c.countErrorGroup(q.name, job)
				}
			case backend.OutcomeSnoozed:
				// Not a finished attempt: no counter moves. A stale
				// duplicate's snooze writes nothing.
				if writeRetry {
					q.n.Sched++
					if err := q.addSet(q.sched, r.RetryAt, encode(job)); err != nil {
						return err
					}
				}
			case backend.OutcomeDiscarded:
				q.n.Processed++
				processed++
				q.n.Discarded++
			case backend.OutcomeCancelled:
				q.n.Cancelled++
			case backend.OutcomeRequeue:
				if requeue[q] == nil {
					requeueOrder = append(requeueOrder, q)
				}
				requeue[q] = append(requeue[q], clone(f.Raw))
			}
			if leavesStore(r.Outcome, writeRetry) {
				if err := q.releaseUnique(f.Job); err != nil {
					return err
				}
			}
		}
		for _, q := range requeueOrder {
			ps := requeue[q]
			for i := len(ps) - 1; i >= 0; i-- { // the first requeued ends up at the head
				if err := q.pushHead(ps[i], c.now); err != nil {
					return err
				}
			}
		}
		for q := range deadAdded {
			if _, err := c.dropDead(q, func(*qtx) bool { return q.n.Dead > c.b.limits.DeadMaxJobs }); err != nil {
				return err
			}
		}
		c.countDay(processed, failed)
		return nil
	})
	return wrapErr("complete", err)
}

// MoveDue moves due scheduled and retry jobs to the tail of their queues,
// at most limit per call. It writes only when something is due.
func (b *Backend) MoveDue(ctx context.Context, now time.Time, limit int) (int, error) {
	if limit <= 0 || !b.anyDue(now) {
		return 0, ctx.Err()
	}
	moved := 0
	err := b.update(ctx, func(c *txc) error {
		moved = 0
		qs, err := c.allQueues()
		if err != nil {
			return err
		}
		for _, q := range qs {
			for _, set := range []*bbolt.Bucket{q.sched, q.retry} {
				var keys [][]byte
				cur := set.Cursor()
				for k, v := cur.First(); k != nil && moved < limit && !keyTime(k).After(now); k, v = cur.Next() {
					keys = append(keys, clone(k))
					if err := q.pushTail(clone(v), c.now); err != nil {
						return err
					}
					moved++
				}
				for _, k := range keys {
					if err := set.Delete(k); err != nil {
						return err
					}
				}
				if set == q.sched {
					q.n.Sched -= int64(len(keys))
				} else {
					q.n.Retry -= int64(len(keys))
				}
			}
			if moved >= limit {
				break
			}
		}
		return nil
	})
	if err != nil {
		return 0, wrapErr("move due jobs", err)
	}
	return moved, nil
}

// anyDue reports whether a scheduled or retry job is due at now.
func (b *Backend) anyDue(now time.Time) bool {
	due := false
	_ = b.view(func(tx *bbolt.Tx) error {
		all := tx.Bucket(bucketQueues)
		if all == nil {
			return nil
		}
		return all.ForEachBucket(func(name []byte) error {
			bk := all.Bucket(name)
			for _, sub := range [][]byte{subSched, subRetry} {
				if k, _ := bk.Bucket(sub).Cursor().First(); k != nil && !keyTime(k).After(now) {
					due = true
				}
			}
			return nil
		})
	})
	return due
}

// queueNames lists the known queues, sorted.
func (c *txc) queueNames() ([]string, error) {
	var names []string
	err := c.bucket(bucketQueues).ForEachBucket(func(k []byte) error {
		names = append(names, string(k))
		return nil
	})
	return names, err
}

// allQueues opens every queue of the store in this transaction, in name
// order.
func (c *txc) allQueues() ([]*qtx, error) {
	names, err := c.queueNames()
	if err != nil {
		return nil, err
	}
	qs := make([]*qtx, 0, len(names))
	for _, name := range names {
		q, err := c.queue(name, false)
		if err != nil {
			return nil, err
		}
		if q != nil {
			qs = append(qs, q)
		}
	}
	return qs, nil
}

// PauseQueue implements backend.Backend (see pauseQueue).
func (b *Backend) PauseQueue(ctx context.Context, p backend.PauseQueueParams) (backend.PauseQueueResult, error) {
	return backend.PauseQueueResult{}, b.pauseQueue(ctx, p.Queue, p.Paused)
}

// pauseQueue pauses or resumes a queue: Fetch skips a paused queue; its
// jobs stay queued.
func (b *Backend) pauseQueue(ctx context.Context, queue string, paused bool) error {
	return wrapErr("pause queue", b.update(ctx, func(c *txc) error {
		q, err := c.queue(queue, true)
		if err != nil {
			return clean(err)
		}
		if paused {
			return q.bk.Put(keyPaused, []byte{1})
		}
		q.pushed = true // resumed: wake an idle fetcher
		return q.bk.Delete(keyPaused)
	}))
}

// dropDead drops the oldest dead jobs of q while over(q) holds, counting
// them; it returns how many it dropped.
func (c *txc) dropDead(q *qtx, over func(*qtx) bool) (int, error) {
	n := 0
	cur := q.dead.Cursor()
	for k, v := cur.First(); k != nil && over(q); k, v = cur.First() {
		q.n.Dead--
		q.n.DeadBytes -= int64(len(v))
		q.n.DeadDropped++
		q.dirty = true
		n++
		if err := cur.Delete(); err != nil {
			return n, err
		}
	}
	if q.n.Dead <= 0 {
		q.n.Dead, q.n.DeadBytes = 0, 0
	}
	return n, nil
}

// readDay and marshalDay encode a day's counters (processed, failed).
func readDay(b []byte, out *[2]int64) {
	for i := range out {
		v, k := binary.Varint(b)
		if k <= 0 {
			return
		}
		out[i], b = v, b[k:]
	}
}

func marshalDay(v [2]int64) []byte {
	return binary.AppendVarint(binary.AppendVarint(nil, v[0]), v[1])
}

func versionRecord() []byte { return binary.AppendUvarint(nil, backend.DataModelVersion) }
