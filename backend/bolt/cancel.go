package bolt

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	bbolt "go.etcd.io/bbolt"

	"github.com/joblot/joblot/backend"
)

// CancelJob implements backend.Backend in one transaction: it looks for
// the job in queue's in-flight bucket (O(jobs in flight)), then in its
// scheduled and retry buckets (a scan of both, in the write transaction),
// and otherwise marks its id in the queue's cancel bucket. A job in flight
// is cancelled through ListenCancels, in this process: the owner of the
// file runs every server.
func (b *Backend) CancelJob(ctx context.Context, queue, id string) (backend.CancelResult, error) {
	if queue == "" || id == "" {
		return 0, fmt.Errorf("joblot/bolt: cancel job: queue and id are required: %w", backend.ErrJobNotFound)
	}
	var res backend.CancelResult
	err := b.update(ctx, func(c *txc) error {
		res = 0
		q, err := c.queue(queue, false)
		if err != nil || q == nil {
			return err
		}
		if inFlight(q.wip, id) {
			res = backend.CancelRunning
			return nil
		}
		for _, set := range []*bbolt.Bucket{q.sched, q.retry} {
			k, v := findByID(set, id)
			if k == nil {
				continue
			}
			p := clone(v)
			if err := set.Delete(k); err != nil {
				return err
			}
			if set == q.sched {
				q.n.Sched--
			} else {
				q.n.Retry--
			}
			q.n.Cancelled++
			q.dirty = true
			res = backend.CancelRemoved
			return c.cancelled(q, p)
		}
		if q.n.Size == 0 && !q.limitWaiting() {
			return nil
		}
		marks, err := q.bk.CreateBucketIfNotExists(subCancel)
		if err != nil {
			return err
		}
		res = backend.CancelQueued
		return marks.Put([]byte(id), nil)
	})
	if err != nil {
		return 0, wrapErr("cancel job", err)
	}
	switch res {
	case 0:
		return 0, fmt.Errorf("joblot/bolt: cancel job %s of queue %s: %w", id, queue, backend.ErrJobNotFound)
	case backend.CancelRunning:
		b.cancels.notify(queue, id)
	}
	return res, nil
}

// inFlight reports whether job id is in the in-flight bucket (keys
// <proc>\x00<id>).
func inFlight(wip *bbolt.Bucket, id string) bool {
	suffix := append([]byte{0}, id...)
	cur := wip.Cursor()
	for k, _ := cur.First(); k != nil; k, _ = cur.Next() {
		if bytes.HasSuffix(k, suffix) && bytes.IndexByte(k, 0) == len(k)-len(suffix) {
			return true
		}
	}
	return false
}

// findByID returns the entry of a scheduled or retry bucket whose payload
// is job id's, or nil.
func findByID(set *bbolt.Bucket, id string) (k, v []byte) {
	cur := set.Cursor()
	for k, v := cur.First(); k != nil; k, v = cur.Next() {
		if wipID(v) == id {
			return k, v
		}
	}
	return nil, nil
}

// dropIfCancelled drops a job just taken from the head of queue q if its
// id is in marks: the mark goes, the job counts as cancelled, and in its
// batch. The caller deletes its queue entry.
func (c *txc) dropIfCancelled(q *qtx, marks *bbolt.Bucket, p []byte) (bool, error) {
	id := []byte(wipID(p))
	if marks.Get(id) == nil {
		return false, nil
	}
	if err := marks.Delete(id); err != nil {
		return false, err
	}
	q.n.Cancelled++
	q.dirty = true
	return true, c.cancelled(q, p)
}

// cancelled lets a cancelled job's payload leave the store: it releases
// its unique lock and counts it as cancelled in its batch, if it is a
// batch member. The payload is decoded once for both; a malformed one
// holds no lock and is in no batch.
func (c *txc) cancelled(q *qtx, p []byte) error {
	j, err := backend.DecodeJob(p)
	if err != nil {
		return nil
	}
	if err := q.releaseUnique(j); err != nil {
		return err
	}
	if j.BatchID == "" || j.CallbackOf != "" {
		return nil
	}
	_, _, err = c.batchJobEvent(j, backend.EventCancelled, nil)
	return err
}

// cancelListeners are the callbacks of ListenCancels.
type cancelListeners struct {
	mu   sync.Mutex
	next int
	fns  map[int]func(queue, id string)
}

func (l *cancelListeners) add(fn func(queue, id string)) func() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fns == nil {
		l.fns = map[int]func(queue, id string){}
	}
	k := l.next
	l.next++
	l.fns[k] = fn
	return func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		delete(l.fns, k)
	}
}

func (l *cancelListeners) notify(queue, id string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, fn := range l.fns {
		fn(queue, id)
	}
}

// ListenCancels implements backend.CancelListener in process: CancelJob
// calls fn for a job in flight, whether it is called directly or through
// the local endpoint.
func (b *Backend) ListenCancels(ctx context.Context, fn func(queue, id string)) error {
	remove := b.cancels.add(fn)
	defer remove()
	<-ctx.Done()
	return nil
}

var _ backend.CancelListener = (*Backend)(nil)

// FindJob implements backend.Backend (see findJob).
func (b *Backend) FindJob(ctx context.Context, queue, id string) (backend.FindJobResult, error) {
	j, set, err := b.findJob(ctx, queue, id)
	return backend.FindJobResult{Job: j, Set: set}, err
}

// findJob implements backend.Backend in one read transaction: the queue's
// in-flight bucket, then its queued, scheduled, retry and dead buckets,
// each scanned until the job is found.
func (b *Backend) findJob(ctx context.Context, queue, id string) (*backend.Job, backend.JobSet, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	var raw []byte
	var set backend.JobSet
	err := b.view(func(tx *bbolt.Tx) error {
		all := tx.Bucket(bucketQueues)
		if all == nil || queue == "" || id == "" {
			return nil
		}
		bk := all.Bucket([]byte(queue))
		if bk == nil {
			return nil
		}
		suffix := append([]byte{0}, id...)
		cur := bk.Bucket(subWip).Cursor()
		for k, v := cur.First(); k != nil; k, v = cur.Next() {
			if bytes.HasSuffix(k, suffix) && bytes.IndexByte(k, 0) == len(k)-len(suffix) {
				raw, set = clone(v), backend.SetInFlight
				return nil
			}
		}
		for _, s := range []backend.JobSet{backend.SetQueued, backend.SetScheduled, backend.SetRetry, backend.SetDead} {
			sub, err := setBucket(s)
			if err != nil {
				return err
			}
			cur := bk.Bucket(sub).Cursor()
			for k, v := cur.First(); k != nil; k, v = cur.Next() {
				if s == backend.SetQueued {
					v = v[8:]
				}
				if wipID(v) == id {
					raw, set = clone(v), s
					return nil
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, "", wrapErr("find job", err)
	}
	if raw == nil {
		return nil, "", fmt.Errorf("joblot/bolt: job %s of queue %s: %w", id, queue, backend.ErrJobNotFound)
	}
	j, err := backend.DecodeJob(raw)
	if err != nil {
		j = &backend.Job{ID: backend.MalformedJobID(raw), Queue: queue}
	}
	return j, set, nil
}
