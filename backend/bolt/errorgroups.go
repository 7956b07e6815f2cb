package bolt

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/joblot/joblot/backend"
)

// Error groups across batches (see backend.ErrorGroups) live in the
// top-level bucket errs, one flat key space sorted by hour so that the
// janitor prunes from the front:
//
//	<hour ms><uvarint len(queue)><queue>        errMeta: the bucket's
//	                                            number of groups, other
//	<hour ms><uvarint len(queue)><queue><fp>    errGroup (JSON)
//
// A transaction counts its failures in memory (errTx) and writes each
// touched record once, in flush.

// errMeta counts the groups of one queue's hourly bucket and the failures
// beyond them.
type errMeta struct {
	Groups, Other int64
	dirty         bool
}

func (m *errMeta) marshal() []byte {
	return binary.AppendVarint(binary.AppendVarint(nil, m.Groups), m.Other)
}

func (m *errMeta) unmarshal(b []byte) {
	for _, f := range []*int64{&m.Groups, &m.Other} {
		v, k := binary.Varint(b)
		if k <= 0 {
			return
		}
		*f, b = v, b[k:]
	}
}

// errTx is a transaction's view of the error buckets it touched.
type errTx struct {
	metas  map[string]*errMeta  // by bucket prefix
	groups map[string]*errGroup // by full key
}

// errPrefix is the key prefix of queue's error bucket of hour.
func errPrefix(hour time.Time, queue string) []byte {
	b := make([]byte, 8, 8+binary.MaxVarintLen64+len(queue))
	binary.BigEndian.PutUint64(b, ms(hour))
	b = binary.AppendUvarint(b, uint64(len(queue)))
	return append(b, queue...)
}

// splitErrKey returns the hour, queue and fingerprint of an errs key
// (fp empty for a bucket's errMeta); ok is false for a key it cannot read.
func splitErrKey(k []byte) (hour time.Time, queue, fp string, ok bool) {
	if len(k) < 9 {
		return time.Time{}, "", "", false
	}
	n, w := binary.Uvarint(k[8:])
	if w <= 0 || uint64(len(k)-8-w) < n {
		return time.Time{}, "", "", false
	}
	rest := k[8+w:]
	return keyTime(k), string(rest[:n]), string(rest[n:]), true
}

// countErrorGroup counts j's failure, recorded in queue now, in the
// queue's error bucket of the hour.
func (c *txc) countErrorGroup(queue string, j *backend.Job) {
	if c.errs == nil {
		c.errs = &errTx{metas: map[string]*errMeta{}, groups: map[string]*errGroup{}}
	}
	now := int64(ms(c.now))
	prefix := string(errPrefix(backend.ErrorHour(c.now), queue))
	key := prefix + j.Fingerprint()
	g := c.errs.groups[key]
	if g == nil {
		if v := c.bucket(bucketErrs).Get([]byte(key)); v != nil {
			g = new(errGroup)
			// An unreadable record starts over rather than fail the ack.
			if json.Unmarshal(v, g) != nil {
				*g = errGroup{First: now}
			}
		} else {
			m := c.errs.metas[prefix]
			if m == nil {
				m = new(errMeta)
				m.unmarshal(c.bucket(bucketErrs).Get([]byte(prefix)))
				c.errs.metas[prefix] = m
			}
			m.dirty = true
			if m.Groups >= int64(c.b.limits.ErrorGroupsPerHour) {
				m.Other++
				return
			}
			m.Groups++
			g = &errGroup{Kind: j.Kind, Class: j.ErrorClass, Message: backend.ErrorSample(j.ErrorMessage), JobID: j.ID, First: now}
		}
		c.errs.groups[key] = g
	}
	g.Count++
	g.Last = now
}

// flushErrorGroups writes the error records the transaction touched.
func (c *txc) flushErrorGroups() error {
	if c.errs == nil {
		return nil
	}
	bk := c.bucket(bucketErrs)
	for k, m := range c.errs.metas {
		if m.dirty {
			if err := bk.Put([]byte(k), m.marshal()); err != nil {
				return err
			}
		}
	}
	for k, g := range c.errs.groups {
		raw, err := json.Marshal(g)
		if err != nil {
			return err
		}
		if err := bk.Put([]byte(k), raw); err != nil {
			return err
		}
	}
	return nil
}

// ErrorGroups reads the error buckets a query at now covers, in one
// read-only transaction.
func (b *Backend) ErrorGroups(ctx context.Context, f backend.ErrorGroupFilter, now time.Time) ([]backend.ErrorGroupStat, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	hours := backend.ErrorHours(now, f.Since, b.limits.ErrorGroupRetention)
	acc := backend.NewErrorGroupAcc(f)
	err := b.view(func(tx *bbolt.Tx) error {
		bk := tx.Bucket(bucketErrs)
		if bk == nil || len(hours) == 0 {
			return nil
		}
		last := ms(hours[len(hours)-1])
		cur := bk.Cursor()
		for k, v := cur.Seek(be64(ms(hours[0]))); k != nil && ms(keyTime(k)) <= last; k, v = cur.Next() {
			hour, queue, fp, ok := splitErrKey(k)
			if !ok || f.Queue != "" && queue != f.Queue {
				continue
			}
			if fp == "" {
				var m errMeta
				m.unmarshal(v)
				acc.AddOther(queue, hour, m.Other)
				continue
			}
			var g errGroup
			if json.Unmarshal(v, &g) != nil {
				continue
			}
			acc.Add(queue, hour, backend.ErrorGroup{
				Fingerprint: fp, Kind: g.Kind, Class: g.Class, Message: g.Message, JobID: g.JobID,
				Count: g.Count, FirstSeen: time.UnixMilli(g.First), LastSeen: time.UnixMilli(g.Last),
			})
		}
		return nil
	})
	if err != nil {
		return nil, wrapErr("error groups", err)
	}
	return acc.Result(), nil
}

// errorGroupsDue reports whether the oldest error bucket of tx has passed
// its retention at now.
func (b *Backend) errorGroupsDue(tx *bbolt.Tx, now time.Time) bool {
	bk := tx.Bucket(bucketErrs)
	if bk == nil {
		return false
	}
	k, _ := bk.Cursor().First()
	return k != nil && b.errorBucketGone(keyTime(k), now)
}

// errorBucketGone reports whether the bucket of hour is past its retention.
func (b *Backend) errorBucketGone(hour, now time.Time) bool {
	return !hour.Add(backend.ErrorBucket + b.limits.ErrorGroupRetention).After(now)
}

// pruneErrorGroups deletes the records of error buckets past their
// retention, at most 10*janitorChunk per call.
func (c *txc) pruneErrorGroups(now time.Time) error {
	bk := c.tx.Bucket(bucketErrs)
	if bk == nil {
		return nil
	}
	var keys [][]byte
	cur := bk.Cursor()
	for k, _ := cur.First(); k != nil && len(keys) < 10*janitorChunk && c.b.errorBucketGone(keyTime(k), now); k, _ = cur.Next() {
		keys = append(keys, clone(k))
	}
	for _, k := range keys {
		if err := bk.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
