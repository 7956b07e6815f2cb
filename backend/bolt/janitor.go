package bolt

import (
	"context"
	"encoding/binary"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// janitorChunk bounds the batches one ForwardCallbacks call expires or
// deletes, so one call never holds the writer for long.
const janitorChunk = 500

// ForwardCallbacks runs the batch janitor. Callbacks are enqueued in the
// transaction that fires them, so there is never one to forward (it
// returns 0); what remains is expiry: uncommitted batches past their
// commit deadline are marked expired, batches past their TTL
// are deleted with their index entries, expired callback-id dedupe
// records are dropped, and so are error buckets past their retention and
// per-minute counters past backend.ThroughputWindow (an idle queue's: an
// ack trims its own queue's). It writes only when something is due.
func (b *Backend) ForwardCallbacks(ctx context.Context, now time.Time) (int, error) {
	if !b.janitorDue(now) {
		return 0, ctx.Err()
	}
	err := b.update(ctx, func(c *txc) error {
		if err := c.expireUncommitted(now); err != nil {
			return err
		}
		if err := c.deleteExpiredBatches(now); err != nil {
			return err
		}
		if err := c.pruneOnce(now); err != nil {
			return err
		}
		if err := c.expireOutputs(now); err != nil { // output.go
			return err
		}
		if err := c.pruneErrorGroups(now); err != nil {
			return err
		}
		return c.pruneMinutes(now)
	})
	return 0, wrapErr("batch janitor", err)
}

// janitorDue reports, reading only, whether a deadline or expiry has come.
func (b *Backend) janitorDue(now time.Time) bool {
	due := false
	_ = b.view(func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketBDl, bucketBExp} {
			if bk := tx.Bucket(name); bk != nil {
				if k, _ := bk.Cursor().First(); k != nil && !keyTime(k).After(now) {
					due = true
				}
			}
		}
		if bk := tx.Bucket(bucketOnce); bk != nil {
			if k, _ := bk.Cursor().Seek([]byte("e")); len(k) >= 9 && k[0] == 'e' && !keyTime(k[1:]).After(now) {
				due = true
			}
		}
		if b.errorGroupsDue(tx, now) || outputsDue(tx, now) || minutesDue(tx, now) {
			due = true
		}
		return nil
	})
	return due
}

// dueKeys returns up to janitorChunk keys of an index whose time has come.
func dueKeys(bk *bbolt.Bucket, now time.Time) [][]byte {
	var keys [][]byte
	cur := bk.Cursor()
	for k, _ := cur.First(); k != nil && len(keys) < janitorChunk && !keyTime(k).After(now); k, _ = cur.Next() {
		keys = append(keys, clone(k))
	}
	return keys
}

// expireUncommitted marks batches still uncommitted at their deadline as
// expired: they take no more jobs and never complete.
func (c *txc) expireUncommitted(now time.Time) error {
	idx := c.bucket(bucketBDl)
	for _, k := range dueKeys(idx, now) {
		if err := idx.Delete(k); err != nil {
			return err
		}
		bt, err := c.batch(string(k[8:]))
		if err != nil {
			return err
		}
		if bt != nil && bt.m.Committed == 0 && !bt.m.Expired {
			bt.m.Expired = true
			bt.touched = true
		}
	}
	return nil
}

// deleteExpiredBatches deletes batches whose expiry has passed. bexp holds
// a lower bound of each batch's expiry: a batch that was touched since is
// re-indexed at its real expiry instead.
func (c *txc) deleteExpiredBatches(now time.Time) error {
	idx := c.bucket(bucketBExp)
	for _, k := range dueKeys(idx, now) {
		bt, err := c.batch(string(k[8:]))
		if err != nil {
			return err
		}
		if bt == nil {
			if err := idx.Delete(k); err != nil {
				return err
			}
			continue
		}
		if ms(time.UnixMilli(bt.m.Expires)) > ms(now) {
			if err := idx.Delete(k); err != nil {
				return err
			}
			bt.m.Indexed = bt.m.Expires
			if err := idx.Put(idKey(time.UnixMilli(bt.m.Expires), bt.id), nil); err != nil {
				return err
			}
			// Written back as is: flush would recompute the expiry from now.
			if err := c.putMetaAsIs(bt); err != nil {
				return err
			}
			continue
		}
		if err := c.deleteBatch(bt); err != nil {
			return err
		}
	}
	return nil
}

// pruneOnce drops dedupe records past their expiry.
func (c *txc) pruneOnce(now time.Time) error {
	bk := c.bucket(bucketOnce)
	var keys [][]byte
	cur := bk.Cursor()
	for k, _ := cur.Seek([]byte("e")); len(k) >= 9 && k[0] == 'e' && len(keys) < 10*janitorChunk && !keyTime(k[1:]).After(now); k, _ = cur.Next() {
		keys = append(keys, clone(k))
	}
	for _, k := range keys {
		if err := bk.Delete(k); err != nil {
			return err
		}
		ik := append([]byte("i"), k[9:]...)
		if v := bk.Get(ik); len(v) == 8 && binary.BigEndian.Uint64(v) <= ms(now) {
			if err := bk.Delete(ik); err != nil {
				return err
			}
		}
	}
	return nil
}
