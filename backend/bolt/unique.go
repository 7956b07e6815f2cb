package bolt

import (
	"encoding/binary"
	"time"

	"github.com/joblot/joblot/backend"
)

// Unique locks (backend.Job.Unique) live in their queue's "u" bucket:
// lock key -> <expiry ms, 0 for none><id of the job holding it>. The bucket
// is created by the first unique job, so a store that never uses them
// has none.

// takeUnique takes j's unique lock, if it has one, in the transaction. It
// returns the id of the job already holding the lock (and takes nothing),
// or "" when j now holds it (or has no lock).
func (q *qtx) takeUnique(j *backend.Job, now time.Time) (holder string, err error) {
	key, until := j.Unique()
	if key == "" {
		return "", nil
	}
	bk, err := q.bk.CreateBucketIfNotExists(subUniq)
	if err != nil {
		return "", err
	}
	if v := bk.Get([]byte(key)); len(v) >= 8 {
		exp := binary.BigEndian.Uint64(v)
		if exp == 0 || exp > ms(now) {
			return string(v[8:]), nil
		}
	}
	v := make([]byte, 8, 8+len(j.ID))
	binary.BigEndian.PutUint64(v, ms(until))
	return "", bk.Put([]byte(key), append(v, j.ID...))
}

// releaseUnique lets go of j's unique lock, if j holds it: a job leaving
// the store calls it. A lock another job took since stays.
func (q *qtx) releaseUnique(j *backend.Job) error {
	if j == nil || len(j.UnknownFields) == 0 {
		return nil
	}
	key := j.UniqueKey()
	if key == "" {
		return nil
	}
	bk := q.bk.Bucket(subUniq)
	if bk == nil {
		return nil
	}
	if v := bk.Get([]byte(key)); len(v) >= 8 && string(v[8:]) == j.ID {
		q.dirty = true
		return bk.Delete([]byte(key))
	}
	return nil
}

// leavesStore reports whether an acknowledged job leaves the store, and so
// lets go of its unique lock: every outcome but a requeue, and a retry or
// snooze that was written back (written).
func leavesStore(o backend.Outcome, written bool) bool {
	switch o {
	case backend.OutcomeRequeue:
		return false
	case backend.OutcomeRetry, backend.OutcomeSnoozed:
		return !written
	}
	return true
}
