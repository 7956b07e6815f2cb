package redis

import (
	"context"
	"time"
)

// moveChunk bounds the jobs one movedue.lua call moves.
const moveChunk = 1000

// MoveDue moves due scheduled and retry jobs to the tail of their queues,
// one movedue.lua call per queue and chunk, at most limit in all.
func (b *Backend) MoveDue(ctx context.Context, now time.Time, limit int) (int, error) {
	queues, err := b.c.Do(ctx, b.c.B().Smembers().Key(b.keys.Queues()).Build()).AsStrSlice()
	if err != nil {
		return 0, wrap("list queues", err)
	}
	moved := 0
	for _, q := range queues {
		for moved < limit {
			n := min(limit-moved, moveChunk)
			got, err := b.run(ctx, b.c, call{s: b.s.moveDue, keys: []string{b.keys.QSched(q), b.keys.QRetry(q), b.keys.QJobs(q), b.keys.QBell(q)}, args: []string{ms(now), itoa(n)}}).AsInt64()
			if err != nil {
				return moved, wrap("move due jobs of "+q, err)
			}
			moved += int(got)
			if int(got) < n {
				break
			}
		}
	}
	return moved, nil
}
