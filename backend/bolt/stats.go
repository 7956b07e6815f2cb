package bolt

import (
	"context"
	"encoding/binary"
	"slices"
	"strings"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/joblot/joblot/backend"
)

// Stats returns counters, queue sizes and processes, reading each queue's
// counter record and head (O(queues + processes + in-flight jobs)).
func (b *Backend) Stats(ctx context.Context, now time.Time) (*backend.Stats, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := &backend.Stats{}
	var perProc map[string]int
	err := b.view(func(tx *bbolt.Tx) error {
		perProc = inFlightByProc(tx)
		outputStats(tx, s) // output.go
		if meta := tx.Bucket(bucketMeta); meta != nil {
			var g globalCounts
			g.unmarshal(meta.Get(keyStats))
			s.ExpiredBatchEvents = g.ExpiredBatchEvents
		}
		if days := tx.Bucket(bucketDays); days != nil {
			cur := days.Cursor()
			for k, v := cur.Last(); k != nil && len(s.Days) < b.limits.StatsDays; k, v = cur.Prev() {
				var d [2]int64
				readDay(v, &d)
				s.Days = append(s.Days, backend.DayStats{Date: string(k), Processed: d[0], Failed: d[1]})
			}
		}
		all := tx.Bucket(bucketQueues)
		if all == nil {
			return nil
		}
		return all.ForEachBucket(func(name []byte) error {
			bk := all.Bucket(name)
			var n qcounts
			n.unmarshal(bk.Get(keyCounts))
			qs := backend.QueueStats{
				Name: string(name), Size: n.Size, Scheduled: n.Sched, Retry: n.Retry, Dead: n.Dead,
				InFlight: n.InFlight, Paused: bk.Get(keyPaused) != nil,
				Limit: limitStats(bk),
			}
			if k, v := bk.Bucket(subJobs).Cursor().First(); k != nil && len(v) >= 8 {
				enq := time.UnixMilli(int64(binary.BigEndian.Uint64(v)))
				if d := now.Sub(enq); d > 0 {
					qs.Latency = d
				}
			}
			s.Queues = append(s.Queues, qs)
			s.Processed += n.Processed
			s.Failed += n.Failed
			s.Discarded += n.Discarded
			s.Cancelled += n.Cancelled
			s.DeadDropped += n.DeadDropped
			return nil
		})
	})
	if err != nil {
		return nil, wrapErr("stats", err)
	}
	b.mu.Lock()
	for _, p := range b.procs {
		info := p.info
		info.Queues = slices.Clone(info.Queues)
		info.InFlight = perProc[info.ID]
		info.Quiet = info.Quiet || p.quietRequested
		s.Processes = append(s.Processes, info)
	}
	b.mu.Unlock()
	slices.SortFunc(s.Processes, func(a, b backend.ProcessInfo) int { return strings.Compare(a.ID, b.ID) })
	return s, nil
}
