package redis

import (
	"context"

	"github.com/joblot/joblot/backend"
)

// clearChunk is how many jobs one clear_queue.lua call takes.
const clearChunk = 500

// clearQueueScript and clearDoneScript are immutable after package
// initialisation.
var (
	clearQueueScript = loadScript("clear_queue.lua")
	clearDoneScript  = loadScript("clear_done.lua")
)

// PauseQueue implements backend.Backend (see pauseQueue).
func (b *Backend) PauseQueue(ctx context.Context, p backend.PauseQueueParams) (backend.PauseQueueResult, error) {
	return backend.PauseQueueResult{}, b.pauseQueue(ctx, p.Queue, p.Paused)
}

// pauseQueue pauses or resumes a queue: fetch.lua skips a queue whose
// :paused key exists.
func (b *Backend) pauseQueue(ctx context.Context, queue string, paused bool) error {
	if paused {
		return wrap("pause queue", b.c.Do(ctx, b.c.B().Set().Key(b.keys.QPaused(queue)).Value("1").Build()).Error())
	}
	return wrap("resume queue", b.run(ctx, b.c, call{s: b.s.resume, keys: []string{b.keys.QPaused(queue), b.keys.QBell(queue)}}).Error())
}

// ClearQueue removes every queued job of a queue in chunks: a chunk moves
// atomically to :clearing, its batch jobs are counted as removed, then the
// chunk is dropped and its unique jobs' locks released in one script call
// (clear_done.lua). A clear interrupted between those steps resumes with
// the same chunk (batch accounting is idempotent).
func (b *Backend) ClearQueue(ctx context.Context, queue string) (int, error) {
	total := 0
	for {
		payloads, err := b.run(ctx, b.c, call{s: clearQueueScript, keys: []string{b.keys.QJobs(queue), b.keys.QClearing(queue)}, args: []string{itoa(clearChunk)}}).AsStrSlice()
		if err != nil {
			return total, wrap("clear queue", err)
		}
		if len(payloads) == 0 {
			return total, nil
		}
		var events []batchJobEvent
		var locks []string // pairs lock key, job id
		for _, p := range payloads {
			j, err := backend.DecodeJob([]byte(p))
			if err == nil && len(j.UnknownFields) > 0 {
				if k := j.UniqueKey(); k != "" {
					locks = append(locks, k, j.ID)
				}
			}
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
		if err := b.run(ctx, b.c, call{s: clearDoneScript, keys: []string{b.keys.QClearing(queue), b.keys.QUniq(queue)}, args: locks}).Error(); err != nil {
			return total, wrap("clear queue", err)
		}
		total += len(payloads)
	}
}
