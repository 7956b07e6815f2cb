package bolt

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	bbolt "go.etcd.io/bbolt"

	"github.com/joblot/joblot/backend"
)

// A batch keeps its backend.MaxErrorGroups most frequent fingerprints with
// Space-Saving (Metwally, Agrawal, El Abbadi 2005): a new fingerprint in a
// batch whose groups are all taken replaces the group of the smallest
// Count+Error, inherits that as its Error, and the replaced group's Count
// moves to meta.Other. So the groups' Count plus meta.Other is every
// failure counted, a group's fingerprint failed between Count and
// Count+Error times, and every fingerprint with more than a
// 1/MaxErrorGroups share of the failures holds a group.

// batchErrPrefix and estPrefix start the keys of the error groups and of their
// index by Count+Error in a batch bucket.
const (
	batchErrPrefix = 'e'
	estPrefix      = 'n'
)

func errKey(fp string) []byte { return append([]byte{batchErrPrefix}, fp...) }

// estKey is the index key of group fp with Count+Error est.
func estKey(est int64, fp string) []byte {
	k := make([]byte, 9, 9+len(fp))
	k[0] = estPrefix
	binary.BigEndian.PutUint64(k[1:], uint64(est))
	return append(k, fp...)
}

// countError counts one failure of job j (its fingerprint, sample message
// and job) in the error groups of bt.
func (c *txc) countError(bt *btx, j *backend.Job) error {
	if err := indexErrorGroups(bt.bk, &bt.m); err != nil {
		return fmt.Errorf("batch %s: %w", bt.id, err)
	}
	fp := j.Fingerprint()
	now := int64(ms(c.now))
	key := errKey(fp)
	var g errGroup
	if v := bt.bk.Get(key); v != nil {
		if err := json.Unmarshal(v, &g); err != nil {
			return fmt.Errorf("batch %s: unreadable error group: %w", bt.id, err)
		}
		if err := bt.bk.Delete(estKey(g.Count+g.Error, fp)); err != nil {
			return err
		}
	} else {
		g = errGroup{Kind: j.Kind, Class: j.ErrorClass, Message: backend.ErrorSample(j.ErrorMessage), JobID: j.ID, First: now}
		if bt.m.Groups >= backend.MaxErrorGroups {
			est, err := evictSmallestGroup(bt.bk, &bt.m)
			if err != nil {
				return fmt.Errorf("batch %s: %w", bt.id, err)
			}
			g.Error = est
		}
		bt.m.Groups++
	}
	g.Count++
	g.Last = now
	raw, err := json.Marshal(&g)
	if err != nil {
		return err
	}
	if err := bt.bk.Put(key, raw); err != nil {
		return err
	}
	return bt.bk.Put(estKey(g.Count+g.Error, fp), nil)
}

// evictSmallestGroup removes the group with the smallest Count+Error, adds
// its Count to m.Other and returns its Count+Error.
func evictSmallestGroup(bk *bbolt.Bucket, m *batchMeta) (int64, error) {
	k, _ := bk.Cursor().Seek([]byte{estPrefix})
	if len(k) < 9 || k[0] != estPrefix {
		return 0, fmt.Errorf("%d error groups and no index", m.Groups)
	}
	est := int64(binary.BigEndian.Uint64(k[1:9]))
	fp := string(k[9:])
	if err := bk.Delete(k); err != nil {
		return 0, err
	}
	var v errGroup
	if raw := bk.Get(errKey(fp)); raw != nil {
		if err := json.Unmarshal(raw, &v); err != nil {
			return 0, fmt.Errorf("unreadable error group: %w", err)
		}
		if err := bk.Delete(errKey(fp)); err != nil {
			return 0, err
		}
	}
	m.Other += v.Count
	m.Groups--
	return est, nil
}

// indexErrorGroups writes the index of m's error groups when a batch
// written by data model 1 lacks it (the migration does the same for
// every batch); it recounts m.Groups from the records.
func indexErrorGroups(bk *bbolt.Bucket, m *batchMeta) error {
	if m.ErrIndexed {
		return nil
	}
	type entry struct {
		fp  string
		est int64
	}
	var all []entry
	cur := bk.Cursor()
	// A partial index (ErrIndexed lost with a meta rewritten by data
	// model 1) is dropped first.
	var stale [][]byte
	for k, _ := cur.Seek([]byte{estPrefix}); k != nil && k[0] == estPrefix; k, _ = cur.Next() {
		stale = append(stale, append([]byte(nil), k...))
	}
	for _, k := range stale {
		if err := bk.Delete(k); err != nil {
			return err
		}
	}
	for k, v := cur.Seek([]byte{batchErrPrefix}); k != nil && k[0] == batchErrPrefix; k, v = cur.Next() {
		var g errGroup
		if err := json.Unmarshal(v, &g); err != nil {
			return fmt.Errorf("unreadable error group: %w", err)
		}
		all = append(all, entry{string(k[1:]), g.Count + g.Error})
	}
	for _, e := range all {
		if err := bk.Put(estKey(e.est, e.fp), nil); err != nil {
			return err
		}
	}
	m.Groups = len(all)
	m.ErrIndexed = true
	return nil
}
