package bolt

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"

	bbolt "go.etcd.io/bbolt"

	"github.com/joblot/joblot/backend"
)

// setBucket names the sub-bucket of a set.
func setBucket(set backend.JobSet) ([]byte, error) {
	switch set {
	case backend.SetQueued:
		return subJobs, nil
	case backend.SetScheduled:
		return subSched, nil
	case backend.SetRetry:
		return subRetry, nil
	case backend.SetDead:
		return subDead, nil
	}
	return nil, fmt.Errorf("joblot/bolt: unknown job set %q", set)
}

// setPayload returns the payload of a set entry (queued entries carry
// their enqueue time first).
func setPayload(set backend.JobSet, v []byte) []byte {
	if set == backend.SetQueued && len(v) >= 8 {
		return v[8:]
	}
	return v
}

// listCursor is where a listing stopped: a queue and the last key seen.
type listCursor struct {
	queue string
	key   []byte
}

func (lc listCursor) encode() string {
	b := binary.AppendUvarint(nil, uint64(len(lc.queue)))
	b = append(b, lc.queue...)
	return base64.RawURLEncoding.EncodeToString(append(b, lc.key...))
}

func decodeListCursor(s string) (listCursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		if l, n := binary.Uvarint(b); n > 0 && uint64(len(b)-n) >= l {
			return listCursor{queue: string(b[n : n+int(l)]), key: b[n+int(l):]}, nil
		}
	}
	return listCursor{}, fmt.Errorf("joblot/bolt: bad list cursor %q", s)
}

// ListJobs pages through one set, queue by queue (sorted by name): oldest
// first for queues, soonest first for scheduled and retry, newest first
// for dead. It examines at most f.Budget entries per call.
func (b *Backend) ListJobs(ctx context.Context, f backend.JobFilter) (*backend.JobPage, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sub, err := setBucket(f.Set)
	if err != nil {
		return nil, err
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	var start listCursor
	if f.Cursor != "" {
		if start, err = decodeListCursor(f.Cursor); err != nil {
			return nil, err
		}
	}
	backward := f.Set == backend.SetDead
	page := &backend.JobPage{}
	err = b.view(func(tx *bbolt.Tx) error {
		all := tx.Bucket(bucketQueues)
		if all == nil {
			return nil
		}
		var names []string
		if f.Queue != "" {
			names = []string{f.Queue}
		} else {
			_ = all.ForEachBucket(func(k []byte) error { names = append(names, string(k)); return nil })
		}
		i := 0
		if f.Cursor != "" {
			i = sort.SearchStrings(names, start.queue) // the cursor's queue, or the next one if it is gone
		}
		budget := f.Budget(limit)
		for ; i < len(names); i++ {
			qb := all.Bucket([]byte(names[i]))
			if qb == nil {
				continue
			}
			cur := qb.Bucket(sub).Cursor()
			var k, v []byte
			resume := f.Cursor != "" && names[i] == start.queue && len(start.key) > 0
			switch {
			case resume && !backward:
				k, v = cur.Seek(start.key)
				if k != nil && string(k) == string(start.key) {
					k, v = cur.Next()
				}
			case resume && backward:
				if k, _ = cur.Seek(start.key); k == nil {
					k, v = cur.Last()
					if k != nil && string(k) >= string(start.key) {
						k, v = nil, nil
					}
				} else {
					k, v = cur.Prev()
				}
			case backward:
				k, v = cur.Last()
			default:
				k, v = cur.First()
			}
			for ; k != nil; k, v = step(cur, backward) {
				budget--
				j, err := backend.DecodeJob(setPayload(f.Set, v))
				if err == nil && f.Matches(j) {
					j.Queue = names[i]
					page.Jobs = append(page.Jobs, j)
				}
				if len(page.Jobs) >= limit || budget <= 0 {
					page.Next = listCursor{queue: names[i], key: clone(k)}.encode()
					page.Partial = len(page.Jobs) < limit
					return nil
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrapErr("list jobs", err)
	}
	return page, nil
}

func step(cur *bbolt.Cursor, backward bool) ([]byte, []byte) {
	if backward {
		return cur.Prev()
	}
	return cur.Next()
}

// RetryJobs implements backend.Backend (see retryJobs).
func (b *Backend) RetryJobs(ctx context.Context, p backend.RetryJobsParams) (backend.RetryJobsResult, error) {
	n, err := b.retryJobs(ctx, p.Set, p.Queue, p.IDs)
	return backend.RetryJobsResult{Retried: n}, err
}

// retryJobs moves the given jobs of a scheduled, retry or dead set to the
// tail of their queue (dead ones marked ManualRetry, so their batch
// accepts the new attempt). queue "" searches every queue.
func (b *Backend) retryJobs(ctx context.Context, set backend.JobSet, queue string, ids []string) (int, error) {
	if set == backend.SetQueued {
		return 0, fmt.Errorf("joblot/bolt: retry jobs: jobs of the %q set are already queued", set)
	}
	sub, err := setBucket(set)
	if err != nil {
		return 0, err
	}
	if len(ids) == 0 {
		return 0, nil
	}
	want := idSet(ids)
	moved := 0
	err = b.update(ctx, func(c *txc) error {
		moved = 0
		return c.eachSetEntry(queue, sub, want, func(q *qtx, v []byte) error {
			p := clone(v)
			if set == backend.SetDead {
				q.n.Dead--
				q.n.DeadBytes -= int64(len(v))
				if j, err := backend.DecodeJob(p); err == nil {
					j.ManualRetry = true
					p = encode(j)
				}
			} else if set == backend.SetRetry {
				q.n.Retry--
			} else {
				q.n.Sched--
			}
			moved++
			return q.pushTail(p, c.now)
		})
	})
	return moved, wrapErr("retry jobs", err)
}

// DeleteJobs implements backend.Backend (see deleteJobs).
func (b *Backend) DeleteJobs(ctx context.Context, p backend.DeleteJobsParams) (backend.DeleteJobsResult, error) {
	n, err := b.deleteJobs(ctx, p.Set, p.Queue, p.IDs)
	return backend.DeleteJobsResult{Deleted: n}, err
}

// deleteJobs removes the given jobs from a set; batch jobs count as
// removed in their batch.
func (b *Backend) deleteJobs(ctx context.Context, set backend.JobSet, queue string, ids []string) (int, error) {
	sub, err := setBucket(set)
	if err != nil {
		return 0, err
	}
	if len(ids) == 0 {
		return 0, nil
	}
	want := idSet(ids)
	deleted := 0
	err = b.update(ctx, func(c *txc) error {
		deleted = 0
		return c.eachSetEntry(queue, sub, want, func(q *qtx, v []byte) error {
			p := setPayload(set, v)
			switch set {
			case backend.SetQueued:
				q.n.Size--
			case backend.SetScheduled:
				q.n.Sched--
			case backend.SetRetry:
				q.n.Retry--
			case backend.SetDead:
				q.n.Dead--
				q.n.DeadBytes -= int64(len(p))
			}
			deleted++
			j, err := backend.DecodeJob(p)
			if err != nil {
				return nil
			}
			if err := q.releaseUnique(j); err != nil {
				return err
			}
			if j.BatchID != "" {
				if _, _, err := c.batchJobEvent(j, backend.EventRemoved, nil); err != nil {
					return err
				}
			}
			return nil
		})
	})
	return deleted, wrapErr("delete jobs", err)
}

func idSet(ids []string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

var errStop = errors.New("stop")

// eachSetEntry deletes every entry of sub (in queue, or in every queue)
// whose job id is in want, calling fn with its value first. Each id is
// handled once.
func (c *txc) eachSetEntry(queue string, sub []byte, want map[string]bool, fn func(q *qtx, v []byte) error) error {
	names := []string{queue}
	if queue == "" {
		var err error
		if names, err = c.queueNames(); err != nil {
			return err
		}
	}
	left := len(want)
	done := map[string]bool{}
	for _, name := range names {
		q, err := c.queue(name, false)
		if err != nil || q == nil {
			continue
		}
		q.dirty = true
		set := q.bk.Bucket(sub)
		var keys, vals [][]byte
		cur := set.Cursor()
		for k, v := cur.First(); k != nil && left > 0; k, v = cur.Next() {
			id := wipID(v)
			if string(sub) == string(subJobs) {
				id = wipID(v[8:])
			}
			if want[id] && !done[id] {
				done[id] = true
				left--
				keys, vals = append(keys, clone(k)), append(vals, clone(v))
			}
		}
		for i, k := range keys {
			if err := set.Delete(k); err != nil {
				return err
			}
			if err := fn(q, vals[i]); err != nil {
				return err
			}
		}
		if left == 0 {
			break
		}
	}
	return nil
}
