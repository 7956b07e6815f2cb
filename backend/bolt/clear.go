package bolt

import (
	"context"

	"github.com/joblot/joblot/backend"
)

// clearChunk bounds the jobs one ClearQueue transaction removes, so a huge
// queue does not make one huge transaction.
const clearChunk = 1000

// ClearQueue removes every queued job of a queue, a chunk per transaction;
// batch jobs count as removed, and unique jobs let go of their locks, in
// the same transaction that deletes them.
func (b *Backend) ClearQueue(ctx context.Context, queue string) (int, error) {
	total := 0
	for {
		n := 0
		err := b.update(ctx, func(c *txc) error {
			n = 0
			q, err := c.queue(queue, false)
			if err != nil || q == nil {
				return clean(err)
			}
			cur := q.jobs.Cursor()
			for k, v := cur.First(); k != nil && n < clearChunk; k, v = cur.First() {
				j, err := backend.DecodeJob(setPayload(backend.SetQueued, v))
				if err == nil {
					if err := q.releaseUnique(j); err != nil {
						return err
					}
				}
				if err == nil && j.BatchID != "" && j.CallbackOf == "" {
					if _, _, err := c.batchJobEvent(j, backend.EventRemoved, nil); err != nil {
						return err
					}
				}
				if err := cur.Delete(); err != nil {
					return err
				}
				q.n.Size--
				q.dirty = true
				n++
			}
			return nil
		})
		total += n
		if err != nil {
			return total, wrapErr("clear queue", err)
		}
		if n < clearChunk {
			return total, nil
		}
	}
}
