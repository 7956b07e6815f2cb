package redis

import (
	"context"
	"strings"
	"time"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/backend"
)

// Callbacks. A batch script that fires complete, success or death appends
// "<event>\n<callback payload>" to the batch's outbox in the same atomic
// step (the payload is empty when the batch has no callback for the event).
// Go then forwards the outbox: it enqueues each callback job under its
// deterministic ID (backend.CallbackJobID, deduped by the queue's once:<id>
// key, so racing forwarders enqueue it once), tells the parent batch about
// child events that need no callback job, and only then removes the entry.
// Batches with an outbox are listed in jl:outboxes (written right after the
// firing script returns), which ForwardCallbacks sweeps after a crash. A
// crash between the script and that SADD is covered by a slower sweep:
// each ForwardCallbacks call also checks the outboxes of the next
// sweepPage batches of the batch index, resuming where the previous call
// stopped (the offset lives in jl:stats outbox_sweep).
//
// Parents and children: a parent keeps the set of children whose complete
// (kidsc), success (kidss) and settled (kidst) are outstanding. A child's event reaches its
// parent when the child's callback job for it succeeds (Complete calls
// callbackSucceeded), or straight from the outbox when the child has no
// callback for it; a child's death reaches the parent at once.

// forwardOutbox forwards batch id's outbox; it returns how many callback
// jobs it enqueued.
func (b *Backend) forwardOutbox(ctx context.Context, id string, now time.Time) (int, error) {
	entries, err := b.c.Do(ctx, b.c.B().Lrange().Key(b.keys.BOutbox(id)).Start(0).Stop(-1).Build()).AsStrSlice()
	if err != nil {
		return 0, wrap("read outbox of batch "+id, err)
	}
	n := 0
	parent, parentRead := "", false
	for _, e := range entries {
		ev, payload, _ := strings.Cut(e, "\n")
		if payload != "" {
			j, err := backend.DecodeJob([]byte(payload))
			if err != nil {
				b.log.Error("joblot: dropping undecodable callback from outbox", "batch", id, "event", ev, "err", err)
			} else {
				j.CreatedAt = now
				if j.Queue == "" {
					j.Queue = "default"
				}
				if _, err := b.Enqueue(ctx, []*backend.Job{j}); err != nil {
					return n, err
				}
				n++
			}
		}
		if ev == string(backend.CallbackDeath) || payload == "" {
			if !parentRead {
				parent, err = b.parentOf(ctx, id)
				if err != nil {
					return n, err
				}
				parentRead = true
			}
			if parent != "" {
				if err := b.notifyParent(ctx, parent, id, backend.CallbackEvent(ev), now); err != nil {
					return n, err
				}
			}
		}
		if err := b.c.Do(ctx, b.c.B().Lrem().Key(b.keys.BOutbox(id)).Count(1).Element(e).Build()).Error(); err != nil {
			return n, wrap("clear outbox of batch "+id, err)
		}
	}
	if err := b.c.Do(ctx, b.c.B().Srem().Key(b.keys.Outboxes()).Member(id).Build()).Error(); err != nil {
		return n, wrap("forget outbox of batch "+id, err)
	}
	return n, nil
}

// parentOf returns a batch's parent id ("" if none or gone).
func (b *Backend) parentOf(ctx context.Context, id string) (string, error) {
	p, err := b.c.Do(ctx, b.c.B().Hget().Key(b.keys.BMeta(id)).Field("parent").Build()).ToString()
	if rueidis.IsRedisNil(err) {
		return "", nil
	}
	if err != nil {
		return "", wrap("read parent of batch "+id, err)
	}
	return p, nil
}

// notifyParent tells parent that child had ev, and forwards what that fires.
func (b *Backend) notifyParent(ctx context.Context, parent, child string, ev backend.CallbackEvent, now time.Time) error {
	args := append([]string{child, string(ev), ms(now)}, b.ttlArgs()...)
	status, fired, err := firedReply(b.run(ctx, b.c, call{s: b.s.batchKidDone, keys: b.keys.BatchKeys(parent), args: args}))
	if err != nil {
		return wrap("notify parent batch "+parent, err)
	}
	if status == 1 {
		return b.countExpired(ctx, 1)
	}
	return b.forwardFired(ctx, parent, fired, now)
}

// forwardFired records and forwards batch id's outbox if a script fired
// callbacks.
func (b *Backend) forwardFired(ctx context.Context, id string, fired []string, now time.Time) error {
	if len(fired) == 0 {
		return nil
	}
	return b.forwardBatches(ctx, []string{id}, now)
}

// forwardBatches records the outboxes of ids in jl:outboxes and forwards
// them.
func (b *Backend) forwardBatches(ctx context.Context, ids []string, now time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	if err := b.c.Do(ctx, b.c.B().Sadd().Key(b.keys.Outboxes()).Member(ids...).Build()).Error(); err != nil {
		return wrap("record outbox", err)
	}
	for _, id := range ids {
		if _, err := b.forwardOutbox(ctx, id, now); err != nil {
			return err
		}
	}
	return nil
}

// callbackSucceeded is called when batch id's callback job for ev
// succeeded: a child's complete, settled or success then counts for its
// parent.
func (b *Backend) callbackSucceeded(ctx context.Context, id string, ev backend.CallbackEvent, now time.Time) error {
	if ev == backend.CallbackDeath {
		return nil
	}
	parent, err := b.parentOf(ctx, id)
	if err != nil || parent == "" {
		return err
	}
	return b.notifyParent(ctx, parent, id, ev, now)
}

func (b *Backend) countExpired(ctx context.Context, n int64) error {
	return wrap("count expired batch events", b.c.Do(ctx, b.c.B().Hincrby().Key(b.keys.Stats()).Field("expired_batch_events").Increment(n).Build()).Error())
}

// ForwardCallbacks forwards outboxes left by processes that crashed before
// forwarding, and marks batches uncommitted past their deadline expired.
func (b *Backend) ForwardCallbacks(ctx context.Context, now time.Time) (int, error) {
	ids, err := b.c.Do(ctx, b.c.B().Smembers().Key(b.keys.Outboxes()).Build()).AsStrSlice()
	if err != nil {
		return 0, wrap("list outboxes", err)
	}
	total := 0
	for _, id := range ids {
		n, err := b.forwardOutbox(ctx, id, now)
		total += n
		if err != nil {
			return total, err
		}
	}
	n, err := b.sweepOutboxes(ctx, now)
	total += n
	if err != nil {
		return total, err
	}
	due, err := b.c.Do(ctx, b.c.B().Zrangebyscore().Key(b.keys.Uncommitted()).Min("-inf").Max(ms(now)).Limit(0, 1000).Build()).AsStrSlice()
	if err != nil {
		return total, wrap("list uncommitted batches", err)
	}
	for _, id := range due {
		done, err := b.run(ctx, b.c, call{s: b.s.batchExpire, keys: b.keys.BatchKeys(id), args: []string{ms(now)}}).AsInt64()
		if err != nil {
			return total, wrap("expire batch "+id, err)
		}
		if done == 1 {
			if err := b.c.Do(ctx, b.c.B().Zrem().Key(b.keys.Uncommitted()).Member(id).Build()).Error(); err != nil {
				return total, wrap("expire batch "+id, err)
			}
		}
	}
	return total, nil
}

// sweepPage is how many batches one ForwardCallbacks call checks for a
// forgotten outbox.
const sweepPage = 200

// sweepOutboxes checks the outboxes of the next sweepPage batches of the
// batch index (one pipelined LLEN each) and forwards the non-empty ones; it
// also drops ids of expired batches from the index.
func (b *Backend) sweepOutboxes(ctx context.Context, now time.Time) (int, error) {
	off, err := b.c.Do(ctx, b.c.B().Hget().Key(b.keys.Stats()).Field("outbox_sweep").Build()).AsInt64()
	if err != nil && !rueidis.IsRedisNil(err) {
		return 0, wrap("read outbox sweep offset", err)
	}
	ids, err := b.c.Do(ctx, b.c.B().Zrange().Key(b.keys.Batches()).Min(itoa(off)).Max(itoa(off+sweepPage-1)).Build()).AsStrSlice()
	if err != nil {
		return 0, wrap("sweep outboxes", err)
	}
	next := off + int64(len(ids))
	if len(ids) < sweepPage {
		next = 0
	}
	if next != off { // an idle store writes nothing
		if err := b.c.Do(ctx, b.c.B().Hset().Key(b.keys.Stats()).FieldValue().FieldValue("outbox_sweep", itoa(next)).Build()).Error(); err != nil && !isOOM(err) {
			return 0, wrap("store outbox sweep offset", err)
		}
	}
	if len(ids) == 0 {
		return 0, nil
	}
	cmds := make(rueidis.Commands, 0, 2*len(ids))
	for _, id := range ids {
		cmds = append(cmds, b.c.B().Llen().Key(b.keys.BOutbox(id)).Build(), b.c.B().Exists().Key(b.keys.BMeta(id)).Build())
	}
	res := b.c.DoMulti(ctx, cmds...)
	total := 0
	var gone []string
	for i, id := range ids {
		if l, err := res[2*i].AsInt64(); err == nil && l > 0 {
			n, err := b.forwardOutbox(ctx, id, now)
			total += n
			if err != nil {
				return total, err
			}
		}
		if e, err := res[2*i+1].AsInt64(); err == nil && e == 0 {
			gone = append(gone, id)
		}
	}
	// The index is pruned as batches expire.
	if len(gone) > 0 {
		if err := b.c.Do(ctx, b.c.B().Zrem().Key(b.keys.Batches()).Member(gone...).Build()).Error(); err != nil {
			return total, wrap("prune batch index", err)
		}
	}
	return total, nil
}
