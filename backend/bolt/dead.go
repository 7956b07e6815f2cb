package bolt

import (
	"bytes"
	"context"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// TrimDead enforces the dead set caps: per queue by age, count and bytes,
// then in total by count and bytes, dropping the oldest dead jobs across
// queues first. Every drop counts in Stats.DeadDropped. It also prunes
// per-day counters older than Limits.StatsDays. It writes only when there
// is something to drop.
func (b *Backend) TrimDead(ctx context.Context, now time.Time) (int, error) {
	if !b.needsTrim(now) {
		return 0, ctx.Err()
	}
	lim := b.limits
	cutoff := ms(now.Add(-lim.DeadMaxAge))
	dropped := 0
	err := b.update(ctx, func(c *txc) error {
		dropped = 0
		qs, err := c.allQueues()
		if err != nil {
			return err
		}
		for _, q := range qs {
			n, err := c.dropDead(q, func(q *qtx) bool {
				k, _ := q.dead.Cursor().First()
				return k != nil && (ms(keyTime(k)) < cutoff || q.n.Dead > lim.DeadMaxJobs || q.n.DeadBytes > lim.DeadMaxBytes)
			})
			dropped += n
			if err != nil {
				return err
			}
		}
		// The total caps: drop the globally oldest until both hold.
		for {
			var count, size int64
			var oldest *qtx
			var oldestKey []byte
			for _, q := range qs {
				count += q.n.Dead
				size += q.n.DeadBytes
				if k, _ := q.dead.Cursor().First(); k != nil && (oldest == nil || bytes.Compare(k[:8], oldestKey[:8]) < 0) {
					oldest, oldestKey = q, clone(k)
				}
			}
			if oldest == nil || (count <= lim.DeadMaxJobs && size <= lim.DeadMaxBytes) {
				break
			}
			once := false
			n, err := c.dropDead(oldest, func(*qtx) bool { ok := !once; once = true; return ok })
			dropped += n
			if err != nil {
				return err
			}
		}
		return c.pruneDays(now)
	})
	if err != nil {
		return 0, wrapErr("trim dead set", err)
	}
	return dropped, nil
}

// needsTrim reports, reading only, whether TrimDead has work.
func (b *Backend) needsTrim(now time.Time) bool {
	lim := b.limits
	cutoff := ms(now.Add(-lim.DeadMaxAge))
	oldDay := now.UTC().AddDate(0, 0, -lim.StatsDays).Format(time.DateOnly)
	need := false
	_ = b.view(func(tx *bbolt.Tx) error {
		if days := tx.Bucket(bucketDays); days != nil {
			if k, _ := days.Cursor().First(); k != nil && string(k) < oldDay {
				need = true
			}
		}
		all := tx.Bucket(bucketQueues)
		if all == nil {
			return nil
		}
		var count, size int64
		_ = all.ForEachBucket(func(name []byte) error {
			bk := all.Bucket(name)
			var n qcounts
			n.unmarshal(bk.Get(keyCounts))
			count += n.Dead
			size += n.DeadBytes
			if n.Dead > lim.DeadMaxJobs || n.DeadBytes > lim.DeadMaxBytes {
				need = true
			}
			if k, _ := bk.Bucket(subDead).Cursor().First(); k != nil && ms(keyTime(k)) < cutoff {
				need = true
			}
			return nil
		})
		if count > lim.DeadMaxJobs || size > lim.DeadMaxBytes {
			need = true
		}
		return nil
	})
	return need
}

// pruneDays deletes per-day counters older than Limits.StatsDays.
func (c *txc) pruneDays(now time.Time) error {
	oldDay := now.UTC().AddDate(0, 0, -c.b.limits.StatsDays).Format(time.DateOnly)
	cur := c.bucket(bucketDays).Cursor()
	for k, _ := cur.First(); k != nil && string(k) < oldDay; k, _ = cur.First() {
		if err := cur.Delete(); err != nil {
			return err
		}
	}
	return nil
}
