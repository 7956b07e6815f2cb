package redis

import (
	"context"

	"github.com/joblot/joblot/backend"
)

// clearChunk is how many jobs one clear_queue.lua call takes.
const clearChunk = 500

// clearQueueScript is immutable after package initialisation.
var clearQueueScript = loadScript("clear_queue.lua")

// qClearing holds jobs taken off a queue by ClearQueue whose batches have
// not yet counted them as removed.
func qClearing(q string) string { return queueTag(q) + ":clearing" }

// PauseQueue pauses or resumes a queue: fetch.lua skips a queue whose
// :paused key exists.
func (b *Backend) PauseQueue(ctx context.Context, queue string, paused bool) error {
	if paused {
		return wrap("pause queue", b.c.Do(ctx, b.c.B().Set().Key(qPaused(queue)).Value("1").Build()).Error())
	}
	return wrap("resume queue", b.run(ctx, b.c, call{s: b.s.resume, keys: []string{qPaused(queue), qBell(queue)}}).Error())
}

// ClearQueue removes every queued job of a queue in chunks: a chunk moves
// atomically to :clearing, its batch jobs are counted as removed, then the
// chunk is dropped. A clear interrupted between those steps resumes with
// the same chunk (batch accounting is idempotent).
func (b *Backend) ClearQueue(ctx context.Context, queue string) (int, error) {
	total := 0
	for {
		payloads, err := b.run(ctx, b.c, call{s: clearQueueScript, keys: []string{qJobs(queue), qClearing(queue)}, args: []string{itoa(clearChunk)}}).AsStrSlice()
		if err != nil {
			return total, wrap("clear queue", err)
		}
		if len(payloads) == 0 {
			return total, nil
		}
		var events []batchJobEvent
		for _, p := range payloads {
			j, err := backend.DecodeJob([]byte(p))
			if err != nil || j.BatchID == "" || j.CallbackOf != "" {
				continue
			}
			events = append(events, batchJobEvent{batch: j.BatchID, index: j.BatchIndex, event: backend.EventRemoved})
		}
		now := b.now()
		out, err := b.applyBatchEvents(ctx, events, now)
		if err != nil {
			return total, err
		}
		if out.expired > 0 {
			if err := b.countExpired(ctx, out.expired); err != nil {
				return total, err
			}
		}
		if err := b.forwardBatches(ctx, out.fired, now); err != nil {
			return total, err
		}
		if err := b.c.Do(ctx, b.c.B().Del().Key(qClearing(queue)).Build()).Error(); err != nil {
			return total, wrap("clear queue", err)
		}
		total += len(payloads)
	}
}
