package bolt

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/joblot/joblot/backend"
)

// qtx is one queue's buckets and counters inside a write transaction.
type qtx struct {
	name                              string
	bk, jobs, sched, retry, dead, wip *bbolt.Bucket
	// wipCur is a cursor on wip kept for the transaction (wipCursor).
	wipCur *bbolt.Cursor
	n      qcounts
	dirty  bool
	// pushed says jobs went into the queue in this transaction (the bell
	// rings after the commit).
	pushed bool
	// processed0 and failed0 are the counters as loaded: flush counts the
	// difference in the minute's bucket (throughput.go).
	processed0, failed0 int64
}

// queue returns queue name's handles, creating the queue if create is set;
// nil if it does not exist and create is not set.
func (c *txc) queue(name string, create bool) (*qtx, error) {
	if q, ok := c.queues[name]; ok {
		return q, nil
	}
	if name == "" {
		return nil, fmt.Errorf("empty queue name")
	}
	all := c.bucket(bucketQueues)
	bk := all.Bucket([]byte(name))
	if bk == nil {
		if !create {
			return nil, nil
		}
		var err error
		if bk, err = all.CreateBucket([]byte(name)); err != nil {
			return nil, fmt.Errorf("create queue %q: %w", name, err)
		}
		for _, sub := range [][]byte{subJobs, subSched, subRetry, subDead, subWip} {
			if _, err := bk.CreateBucket(sub); err != nil {
				return nil, fmt.Errorf("create queue %q: %w", name, err)
			}
		}
	}
	q := &qtx{name: name, bk: bk, jobs: bk.Bucket(subJobs), sched: bk.Bucket(subSched), retry: bk.Bucket(subRetry), dead: bk.Bucket(subDead), wip: bk.Bucket(subWip)}
	// Keys of jobs and dead grow at the tail: pack their pages full.
	q.jobs.FillPercent = 0.95
	q.dead.FillPercent = 0.9
	q.wip.FillPercent = 0.9
	q.n.unmarshal(bk.Get(keyCounts))
	q.processed0, q.failed0 = q.n.Processed, q.n.Failed
	c.queues[name] = q
	return q, nil
}

func (q *qtx) paused() bool { return q.bk.Get(keyPaused) != nil }

// pushTail appends a payload to the queue.
func (q *qtx) pushTail(payload []byte, now time.Time) error {
	seq, err := q.jobs.NextSequence()
	if err != nil {
		return err
	}
	q.n.Size++
	q.dirty, q.pushed = true, true
	return q.jobs.Put(be64(headBase+seq), jobValue(payload, now))
}

// pushHead puts a payload before every queued job, so it runs next.
func (q *qtx) pushHead(payload []byte, now time.Time) error {
	var key uint64
	if k, _ := q.jobs.Cursor().First(); k != nil {
		key = binary.BigEndian.Uint64(k) - 1
	} else {
		key = headBase + q.jobs.Sequence() // the next tail is one above
	}
	q.n.Size++
	q.dirty, q.pushed = true, true
	return q.jobs.Put(be64(key), jobValue(payload, now))
}

// jobValue is a queued job: <enqueued ms><payload>. The time gives the
// queue's latency.
func jobValue(payload []byte, now time.Time) []byte {
	v := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint64(v, ms(now))
	return append(v, payload...)
}

// addSet stores payload in a time-ordered set (scheduled, retry, dead).
func (q *qtx) addSet(set *bbolt.Bucket, at time.Time, payload []byte) error {
	seq, err := q.bk.NextSequence()
	if err != nil {
		return err
	}
	q.dirty = true
	return set.Put(timeKey(at, seq), payload)
}

// encode returns a job's stored form.
func encode(j *backend.Job) []byte {
	return j.AppendBinary(make([]byte, 0, j.BinarySize())) // sized exactly: no reallocation
}

// enqueue stores one job: scheduled if RunAt is in the future, else at the
// tail of its queue. A job with a deterministic id (a callback) is skipped
// if its id was seen within onceTTL, a unique job if another holds its
// lock; dup is then the id of the job it duplicates ("" when stored).
func (c *txc) enqueue(j *backend.Job) (dup string, err error) {
	if j.CallbackOf != "" {
		if c.seenOnce(j.ID) {
			return j.ID, nil
		}
		if err := c.markOnce(j.ID); err != nil {
			return "", err
		}
	}
	q, err := c.queue(j.Queue, true)
	if err != nil {
		return "", err
	}
	if len(j.UnknownFields) > 0 {
		if holder, err := q.takeUnique(j, c.now); holder != "" || err != nil {
			return holder, err
		}
	}
	p := encode(j)
	if j.RunAt.After(c.now) {
		q.n.Sched++
		return "", q.addSet(q.sched, j.RunAt, p)
	}
	return "", q.pushTail(p, c.now)
}

// seenOnce reports whether id is in the dedupe window.
func (c *txc) seenOnce(id string) bool {
	v := c.bucket(bucketOnce).Get(append([]byte("i"), id...))
	return len(v) == 8 && binary.BigEndian.Uint64(v) > ms(c.now)
}

// markOnce records id in the dedupe window.
func (c *txc) markOnce(id string) error {
	bk := c.bucket(bucketOnce)
	exp := c.now.Add(onceTTL)
	if err := bk.Put(append([]byte("i"), id...), be64(ms(exp))); err != nil {
		return err
	}
	return bk.Put(append([]byte("e"), idKey(exp, id)...), nil)
}

// validateJobs checks what Enqueue needs before anything is written.
func validateJobs(jobs []*backend.Job) error {
	for _, j := range jobs {
		if j == nil {
			return fmt.Errorf("joblot/bolt: enqueue: nil job")
		}
		if j.ID == "" {
			return fmt.Errorf("joblot/bolt: enqueue: job of kind %q has no ID", j.Kind)
		}
		if j.Queue == "" {
			return fmt.Errorf("joblot/bolt: enqueue: job %s has no queue", j.ID)
		}
	}
	return nil
}

// wipCursor returns a cursor on the queue's in-flight bucket, the same for
// the whole transaction: lookups through it (seekExact) reuse its stack,
// where Bucket.Get and Delete allocate a new cursor each.
func (q *qtx) wipCursor() *bbolt.Cursor {
	if q.wipCur == nil {
		q.wipCur = q.wip.Cursor()
	}
	return q.wipCur
}

// seekExact positions cur at key and reports whether the bucket holds it
// (then cur.Delete removes it). Every use starts with the seek, so a
// cursor stays valid across the writes between uses.
func seekExact(cur *bbolt.Cursor, key []byte) bool {
	k, _ := cur.Seek(key)
	return k != nil && bytes.Equal(k, key)
}
