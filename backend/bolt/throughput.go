package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"slices"
	"strings"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/joblot/joblot/backend"
)

// countMinute adds what the transaction counted on q to the bucket of the
// transaction's minute, and drops q's buckets that fell out of the window:
// a queue never holds more than backend.ThroughputMinutes of them.
func (c *txc) countMinute(q *qtx) error {
	dp, df := q.n.Processed-q.processed0, q.n.Failed-q.failed0
	if dp == 0 && df == 0 {
		return nil
	}
	q.processed0, q.failed0 = q.n.Processed, q.n.Failed
	bk, err := c.bucket(bucketMins).CreateBucketIfNotExists([]byte(q.name))
	if err != nil {
		return err
	}
	m := backend.UnixMinute(c.now)
	key := be64(uint64(m))
	var cur [2]int64
	readDay(bk.Get(key), &cur)
	cur[0] += dp
	cur[1] += df
	if err := bk.Put(key, marshalDay(cur)); err != nil {
		return err
	}
	return trimMinutes(bk, minutesCutoff(c.now), backend.ThroughputMinutes)
}

// minutesCutoff is the first minute a store keeps at now: the
// backend.ThroughputMinutes up to now's.
func minutesCutoff(now time.Time) []byte {
	return be64(uint64(max(0, backend.UnixMinute(now)-int64(backend.ThroughputMinutes)+1)))
}

// trimMinutes deletes up to most records of a queue's minutes bucket that
// are before cutoff.
func trimMinutes(bk *bbolt.Bucket, cutoff []byte, most int) error {
	var old [][]byte
	cr := bk.Cursor()
	for k, _ := cr.First(); k != nil && len(old) < most && bytes.Compare(k, cutoff) < 0; k, _ = cr.Next() {
		old = append(old, clone(k))
	}
	for _, k := range old {
		if err := bk.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// minutesDue reports whether some queue holds a minute older than the
// window at now: an idle queue's, which no ack trims (one cursor per
// queue that has minutes).
func minutesDue(tx *bbolt.Tx, now time.Time) bool {
	all := tx.Bucket(bucketMins)
	if all == nil {
		return false
	}
	cutoff := minutesCutoff(now)
	due := false
	_ = all.ForEachBucket(func(name []byte) error {
		if k, _ := all.Bucket(name).Cursor().First(); k != nil && bytes.Compare(k, cutoff) < 0 {
			due = true
		}
		return nil
	})
	return due
}

// pruneMinutes deletes every queue's minutes older than the window at now,
// at most 10*janitorChunk per queue and call.
func (c *txc) pruneMinutes(now time.Time) error {
	all := c.tx.Bucket(bucketMins)
	if all == nil {
		return nil
	}
	var names [][]byte
	_ = all.ForEachBucket(func(name []byte) error {
		names = append(names, clone(name))
		return nil
	})
	for _, name := range names {
		if err := trimMinutes(all.Bucket(name), minutesCutoff(now), 10*janitorChunk); err != nil {
			return err
		}
	}
	return nil
}

// Throughput implements backend.Backend, reading at most
// backend.ThroughputMinutes records per queue.
func (b *Backend) Throughput(ctx context.Context, p backend.ThroughputParams) (backend.ThroughputResult, error) {
	if err := ctx.Err(); err != nil {
		return backend.ThroughputResult{}, err
	}
	first, last := p.Window(b.now())
	var res backend.ThroughputResult
	if first = max(first, 0); first > last {
		return res, nil
	}
	err := b.view(func(tx *bbolt.Tx) error {
		all := tx.Bucket(bucketMins)
		if all == nil {
			return nil
		}
		read := func(name []byte) {
			bk := all.Bucket(name)
			if bk == nil {
				return
			}
			cr := bk.Cursor()
			for k, v := cr.Seek(be64(uint64(first))); k != nil && len(k) == 8; k, v = cr.Next() {
				m := int64(binary.BigEndian.Uint64(k))
				if m > last {
					break
				}
				var d [2]int64
				readDay(v, &d)
				res.Points = append(res.Points, backend.ThroughputPoint{Minute: time.Unix(m*60, 0).UTC(), Queue: string(name), Processed: d[0], Failed: d[1]})
			}
		}
		if p.Queue != "" {
			read([]byte(p.Queue))
			return nil
		}
		return all.ForEachBucket(func(name []byte) error {
			read(name)
			return nil
		})
	})
	if err != nil {
		return backend.ThroughputResult{}, wrapErr("throughput", err)
	}
	slices.SortStableFunc(res.Points, func(a, c backend.ThroughputPoint) int {
		if n := a.Minute.Compare(c.Minute); n != 0 {
			return n
		}
		return strings.Compare(a.Queue, c.Queue)
	})
	return res, nil
}

// ThroughputBuckets reports how many per-minute buckets the store holds for
// queue, stale ones included (at most backend.ThroughputMinutes): the
// bound the conformance suite checks.
func (b *Backend) ThroughputBuckets(ctx context.Context, queue string) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n := 0
	err := b.view(func(tx *bbolt.Tx) error {
		if all := tx.Bucket(bucketMins); all != nil {
			if bk := all.Bucket([]byte(queue)); bk != nil {
				n = bk.Stats().KeyN
			}
		}
		return nil
	})
	return n, wrapErr("throughput buckets", err)
}
