package redis

import (
	"context"
	"encoding/binary"
	"strings"
	"time"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/deadtrim"
)

// deadPayload is a D op's payload for complete.lua (deadlib.lua's
// dead_add) of the job, which died at died (unix ms, its score): the
// lengths of its two entries and its group in 4 bytes big-endian each,
// then those and its message (backend.EncodeDead). A payload that is not a
// job goes in as it came, with no group.
func (it *item) deadPayload(died int64) string {
	j := it.job
	if j == nil && it.f.Malformed == nil {
		j = it.f.Job
	}
	var e backend.DeadEntry
	if j != nil {
		e = backend.EncodeDead(j, died)
	} else {
		e.Shared = it.f.Raw
	}
	var sb strings.Builder
	sb.Grow(12 + len(e.Shared) + len(e.Own) + len(e.Group) + len(e.Message))
	var n [12]byte
	binary.BigEndian.PutUint32(n[:], uint32(len(e.Shared)))
	binary.BigEndian.PutUint32(n[4:], uint32(len(e.Own)))
	binary.BigEndian.PutUint32(n[8:], uint32(len(e.Group)))
	sb.Write(n[:])
	for _, part := range [][]byte{e.Shared, e.Own, e.Group, e.Message} {
		sb.Write(part)
	}
	return sb.String()
}

// TrimDead enforces the dead set caps (the rule on backend.Limits): first
// per queue (package deadtrim's script: age, count, bytes), then in total
// across queues, dropping the oldest entries of the queue whose oldest
// entry is oldest. Every drop is counted in its queue's dead_dropped.
func (b *Backend) TrimDead(ctx context.Context, now time.Time) (int, error) {
	// The same duty ends the lifetime of job outputs (output.go).
	if _, err := b.expireOutputs(ctx, now); err != nil {
		return 0, err
	}
	queues, err := b.c.Do(ctx, b.c.B().Smembers().Key(b.keys.Queues()).Build()).AsStrSlice()
	if err != nil {
		return 0, wrap("list queues", err)
	}
	caps := deadtrim.Caps{Cutoff: now.Add(-b.limits.DeadMaxAge), MaxJobs: b.limits.DeadMaxJobs, MaxBytes: b.limits.DeadMaxBytes}
	trim := func(q string, extra int64) (dropped, count, bytes int64, err error) {
		c := caps
		c.Extra = extra
		arr, err := b.run(ctx, b.c, call{s: b.s.trim, keys: deadtrim.Keys(b.keys, q), args: c.Args()}).AsIntSlice()
		if err != nil {
			return 0, 0, 0, wrap("trim dead set of "+q, err)
		}
		res, err := deadtrim.Parse(arr)
		if err != nil {
			return 0, 0, 0, wrap("trim dead set of "+q, err)
		}
		return res.Dropped, res.Left, res.LeftBytes, nil
	}
	total := 0
	counts := map[string]int64{}
	bytes := map[string]int64{}
	var sumCount, sumBytes int64
	for _, q := range queues {
		d, c, by, err := trim(q, 0)
		if err != nil {
			return total, err
		}
		total += int(d)
		counts[q], bytes[q] = c, by
		sumCount += c
		sumBytes += by
	}
	// Total caps: drop from the queue holding the oldest dead job, in
	// chunks, until both totals fit.
	for rounds := 0; (sumCount > b.limits.DeadMaxJobs || sumBytes > b.limits.DeadMaxBytes) && rounds < 10000; rounds++ {
		oldest, oldestScore := "", float64(0)
		cmds := make(rueidis.Commands, 0, len(queues))
		var names []string
		for _, q := range queues {
			if counts[q] > 0 {
				cmds = append(cmds, b.c.B().Zrange().Key(b.keys.QDead(q)).Min("0").Max("0").Withscores().Build())
				names = append(names, q)
			}
		}
		for i, r := range b.c.DoMulti(ctx, cmds...) {
			zs, err := r.AsZScores()
			if err != nil {
				return total, wrap("trim dead sets", err)
			}
			if len(zs) == 1 && (oldest == "" || zs[0].Score < oldestScore) {
				oldest, oldestScore = names[i], zs[0].Score
			}
		}
		if oldest == "" {
			break
		}
		extra := max(sumCount-b.limits.DeadMaxJobs, 0)
		if extra == 0 {
			extra = 1 // over the byte cap: drop one at a time from the oldest queue
		}
		extra = min(extra, counts[oldest], 100)
		d, c, by, err := trim(oldest, extra)
		if err != nil {
			return total, err
		}
		total += int(d)
		sumCount += c - counts[oldest]
		sumBytes += by - bytes[oldest]
		counts[oldest], bytes[oldest] = c, by
	}
	return total, nil
}
