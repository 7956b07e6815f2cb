package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"sort"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/joblot/joblot/backend"
)

// Global limits (backend.QueueLimit), in the queue's bucket:
//
//	l    the limit: varints concurrency, rate, per (ms), by
//	lh   bucket: <job id> -> <group> of every job holding a concurrency
//	     slot (added by Fetch, removed by the ack or the recovery)
//	lr   bucket: <group>\x00<job id> -> nil, the same slots by group
//	lw   bucket: <group>\x00<seq> -> payload, jobs waiting over the
//	     concurrency limit, oldest first
//	lt   bucket: <group>\x00<ms><seq> -> nil, fetches within the rate window
var (
	keyLimit   = []byte("l")
	subLHeld   = []byte("lh")
	subLRun    = []byte("lr")
	subLWait   = []byte("lw")
	subLRate   = []byte("lt")
	limitBkts  = [][]byte{subLHeld, subLRun, subLWait, subLRate}
	groupSplit = byte(0)
)

func encodeLimit(l backend.QueueLimit) []byte {
	b := binary.AppendUvarint(nil, uint64(l.Concurrency))
	b = binary.AppendUvarint(b, uint64(l.Rate))
	b = binary.AppendUvarint(b, uint64(l.Per.Milliseconds()))
	return binary.AppendUvarint(b, uint64(l.By))
}

func decodeLimit(b []byte) (backend.QueueLimit, bool) {
	var v [4]uint64
	for i := range v {
		x, n := binary.Uvarint(b)
		if n <= 0 {
			return backend.QueueLimit{}, false
		}
		v[i], b = x, b[n:]
	}
	return backend.QueueLimit{Concurrency: int(v[0]), Rate: int(v[1]), Per: time.Duration(v[2]) * time.Millisecond, By: backend.LimitBy(v[3])}, true
}

func groupPrefix(g string) []byte { return groupKey(g) }

// groupKey is <group>\x00 followed by parts, in a slice of its own (bbolt
// keeps the keys it is given for the transaction).
func groupKey(g string, parts ...[]byte) []byte {
	n := len(g) + 1
	for _, p := range parts {
		n += len(p)
	}
	k := make([]byte, 0, n)
	k = append(k, g...)
	k = append(k, groupSplit)
	for _, p := range parts {
		k = append(k, p...)
	}
	return k
}

// limit returns the queue's limit, if it has one.
func (q *qtx) limit() (backend.QueueLimit, bool) {
	v := q.bk.Get(keyLimit)
	if v == nil {
		return backend.QueueLimit{}, false
	}
	return decodeLimit(v)
}

// limitBucket returns sub-bucket name of q, creating it.
func (q *qtx) limitBucket(name []byte) (*bbolt.Bucket, error) {
	return q.bk.CreateBucketIfNotExists(name)
}

// countPrefix counts the keys of bk starting with prefix.
func countPrefix(bk *bbolt.Bucket, prefix []byte) int {
	if bk == nil {
		return 0
	}
	n := 0
	c := bk.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		n++
	}
	return n
}

// limiter judges the jobs one Fetch takes from a limited queue.
type limiter struct {
	l     backend.QueueLimit
	run   map[string]int
	fired map[string]int
	late  map[string]int
}

// admit reports whether payload p may be claimed now; if not, it has moved
// p aside (waiting over the concurrency limit, or scheduled when the rate
// window has room) and the caller drops it from the queue. Mirrors
// limitlib.lua's limit_admit.
func (lm *limiter) admit(c *txc, q *qtx, p []byte) (bool, error) {
	j, err := backend.DecodeJob(p)
	g := ""
	if err == nil {
		g = backend.LimitGroup(lm.l, j.Kind, j.LimitKey())
	}
	gp := groupPrefix(g)
	if lm.l.Concurrency > 0 {
		if _, ok := lm.run[g]; !ok {
			lm.run[g] = countPrefix(q.bk.Bucket(subLRun), gp)
		}
		if lm.run[g] >= lm.l.Concurrency {
			w, err := q.limitBucket(subLWait)
			if err != nil {
				return false, err
			}
			seq, err := w.NextSequence()
			if err != nil {
				return false, err
			}
			q.dirty = true
			return false, w.Put(groupKey(g, be64(seq)), p)
		}
	}
	if lm.l.Rate > 0 {
		rt, err := q.limitBucket(subLRate)
		if err != nil {
			return false, err
		}
		if _, ok := lm.fired[g]; !ok {
			// Drop the fetches older than the window.
			cut := groupKey(g, be64(ms(c.now.Add(-lm.l.Per))))
			var old [][]byte
			cur := rt.Cursor()
			for k, _ := cur.Seek(gp); k != nil && bytes.HasPrefix(k, gp) && bytes.Compare(k, cut) <= 0; k, _ = cur.Next() {
				old = append(old, clone(k))
			}
			for _, k := range old {
				if err := rt.Delete(k); err != nil {
					return false, err
				}
			}
			lm.fired[g] = countPrefix(rt, gp)
		}
		if lm.fired[g] >= lm.l.Rate {
			k := lm.late[g]
			due := c.now.Add(lm.l.Per)
			i, cur := 0, rt.Cursor()
			for key, _ := cur.Seek(gp); key != nil && bytes.HasPrefix(key, gp); key, _ = cur.Next() {
				if i == k%lm.l.Rate {
					due = keyTime(key[len(gp):]).Add(lm.l.Per * time.Duration(k/lm.l.Rate+1))
					break
				}
				i++
			}
			lm.late[g] = k + 1
			q.n.Sched++
			return false, q.addSet(q.sched, due, p)
		}
		seq, err := rt.NextSequence()
		if err != nil {
			return false, err
		}
		lm.fired[g]++
		if err := rt.Put(groupKey(g, be64(ms(c.now)), be64(seq)), nil); err != nil {
			return false, err
		}
	}
	if lm.l.Concurrency > 0 {
		id := wipID(p)
		held, err := q.limitBucket(subLHeld)
		if err != nil {
			return false, err
		}
		run, err := q.limitBucket(subLRun)
		if err != nil {
			return false, err
		}
		if err := held.Put([]byte(id), []byte(g)); err != nil { // fresh slices
			return false, err
		}
		if err := run.Put(groupKey(g, []byte(id)), nil); err != nil {
			return false, err
		}
		lm.run[g]++
	}
	return true, nil
}

// limitWaiting reports whether jobs of q wait over a concurrency limit
// (they are queued jobs too: a cancel mark must wait for them).
func (q *qtx) limitWaiting() bool {
	w := q.bk.Bucket(subLWait)
	if w == nil {
		return false
	}
	k, _ := w.Cursor().First()
	return k != nil
}

// touch counts the slots of the group of payload p (a job dropped before
// it was judged), so that heal looks at its group.
func (lm *limiter) touch(q *qtx, p []byte) {
	if lm.l.Concurrency == 0 {
		return
	}
	g := ""
	if j, err := backend.DecodeJob(p); err == nil {
		g = backend.LimitGroup(lm.l, j.Kind, j.LimitKey())
	}
	if _, ok := lm.run[g]; !ok {
		lm.run[g] = countPrefix(q.bk.Bucket(subLRun), groupPrefix(g))
	}
}

// heal moves back to the head of the queue, in order, the oldest jobs
// waiting in each group the fetch looked at that has a free slot: such a
// group lost its chain of releases (a job moved back was cleared or
// cancelled, or waits in the scheduled set). Mirrors limitlib.lua. Called
// after the fetch's cursor is done with the queue.
func (lm *limiter) heal(c *txc, q *qtx) error {
	w := q.bk.Bucket(subLWait)
	if w == nil {
		return nil
	}
	for g, r := range lm.run {
		free := lm.l.Concurrency - r
		if free <= 0 {
			continue
		}
		gp := groupPrefix(g)
		var keys, ps [][]byte
		cur := w.Cursor()
		for k, v := cur.Seek(gp); k != nil && bytes.HasPrefix(k, gp) && len(keys) < free; k, v = cur.Next() {
			keys, ps = append(keys, clone(k)), append(ps, clone(v))
		}
		for _, k := range keys {
			if err := w.Delete(k); err != nil {
				return err
			}
		}
		for i := len(ps) - 1; i >= 0; i-- {
			if err := q.pushHead(ps[i], c.now); err != nil {
				return err
			}
		}
	}
	return nil
}

// limitRelease frees the concurrency slot job id holds, if any, and moves
// the oldest job waiting in its group to the head of the queue.
func (q *qtx) limitRelease(id string, now time.Time) error {
	held := q.bk.Bucket(subLHeld)
	if held == nil {
		return nil
	}
	g := held.Get([]byte(id))
	if g == nil {
		return nil
	}
	gp := groupPrefix(string(g))
	if err := held.Delete([]byte(id)); err != nil {
		return err
	}
	q.dirty = true
	if run := q.bk.Bucket(subLRun); run != nil {
		if err := run.Delete(groupKey(string(g), []byte(id))); err != nil {
			return err
		}
	}
	w := q.bk.Bucket(subLWait)
	if w == nil {
		return nil
	}
	k, v := w.Cursor().Seek(gp)
	if k == nil || !bytes.HasPrefix(k, gp) {
		return nil
	}
	p, key := clone(v), clone(k)
	if err := w.Delete(key); err != nil {
		return err
	}
	return q.pushHead(p, now)
}

// SetLimits implements backend.Backend in one transaction.
func (b *Backend) SetLimits(ctx context.Context, p backend.SetLimitsParams) (backend.SetLimitsResult, error) {
	if p.Queue == "" {
		return backend.SetLimitsResult{}, fmt.Errorf("%w: no queue named", backend.ErrBadLimit)
	}
	if err := p.Limit.Validate(); err != nil {
		return backend.SetLimitsResult{}, err
	}
	l := p.Limit
	if l.Rate == 0 {
		l.Per = 0
	}
	var res backend.SetLimitsResult
	err := b.update(ctx, func(c *txc) error {
		res = backend.SetLimitsResult{}
		q, err := c.queue(p.Queue, true)
		if err != nil {
			return err
		}
		old := q.bk.Get(keyLimit)
		if l.IsZero() {
			if old == nil {
				return nil
			}
			err = q.bk.Delete(keyLimit)
		} else {
			if bytes.Equal(old, encodeLimit(l)) {
				return nil
			}
			err = q.bk.Put(keyLimit, encodeLimit(l))
		}
		if err != nil {
			return err
		}
		res.Changed = true
		q.dirty = true
		// The waiting jobs go back to the head, in their order, to be
		// judged again.
		w := q.bk.Bucket(subLWait)
		if w == nil {
			return nil
		}
		var keys, ps [][]byte
		_ = w.ForEach(func(k, v []byte) error {
			keys, ps = append(keys, clone(k)), append(ps, clone(v))
			return nil
		})
		for _, k := range keys {
			if err := w.Delete(k); err != nil {
				return err
			}
		}
		for i := len(ps) - 1; i >= 0; i-- {
			if err := q.pushHead(ps[i], c.now); err != nil {
				return err
			}
		}
		res.Released = len(ps)
		return nil
	})
	if err != nil {
		return backend.SetLimitsResult{}, wrapErr("set limits", err)
	}
	return res, nil
}

// limitStats reads a queue's limit and its groups (nil when it has none).
func limitStats(bk *bbolt.Bucket) *backend.LimitStats {
	l, has := backend.QueueLimit{}, false
	if v := bk.Get(keyLimit); v != nil {
		l, has = decodeLimit(v)
	}
	run, wait := map[string]int64{}, map[string]int64{}
	countGroups := func(sub []byte, into map[string]int64) {
		if s := bk.Bucket(sub); s != nil {
			_ = s.ForEach(func(k, _ []byte) error {
				if i := bytes.IndexByte(k, groupSplit); i >= 0 {
					into[string(k[:i])]++
				}
				return nil
			})
		}
	}
	countGroups(subLRun, run)
	countGroups(subLWait, wait)
	if !has && len(run) == 0 && len(wait) == 0 {
		return nil
	}
	groups := map[string]bool{}
	for g := range run {
		groups[g] = true
	}
	for g := range wait {
		groups[g] = true
	}
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	sort.Strings(names)
	ls := &backend.LimitStats{Limit: l, GroupsTotal: len(names)}
	for _, g := range names[:min(len(names), backend.MaxLimitGroupsShown)] {
		ls.Groups = append(ls.Groups, backend.LimitGroupStats{Group: g, Running: run[g], Waiting: wait[g]})
	}
	return ls
}
