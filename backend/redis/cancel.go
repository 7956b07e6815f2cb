package redis

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/backend"
)

// cancelScanCount is the COUNT of one ZSCAN step while CancelJob looks for
// a job in a scheduled or retry set: each step is a bounded amount of
// work for Redis, and a set of n entries takes about n/cancelScanCount
// steps.
const cancelScanCount = 1000

// listenRetry is how long ListenCancels waits before subscribing again
// after its connection failed.
const listenRetry = time.Second

// CancelJob implements backend.Backend. Its cost does not depend on the
// queue's length: one ZRANGE of the process registry, one cancel.lua call
// (which checks the in-flight hashes of queue and marks the id), then a
// ZSCAN of the scheduled and retry sets by the job's id prefix
// (cancelScanCount entries a step, so these two sets' sizes set its cost),
// and one more cancel.lua (or cancel_drop.lua) call; a job in flight (or
// possibly claimed meanwhile) gets one PUBLISH on the cancel channel.
func (b *Backend) CancelJob(ctx context.Context, queue, id string) (backend.CancelResult, error) {
	if queue == "" || id == "" {
		return 0, fmt.Errorf("joblot/redis: cancel job: queue and id are required: %w", backend.ErrJobNotFound)
	}
	procs, err := b.c.Do(ctx, b.c.B().Zrange().Key(b.keys.Procs()).Min("0").Max("-1").Build()).AsStrSlice()
	if err != nil {
		return 0, wrap("cancel job: list processes", err)
	}
	keys := make([]string, 0, 2+len(procs))
	keys = append(keys, b.keys.QCancel(queue), b.keys.QJobs(queue))
	for _, p := range procs {
		keys = append(keys, b.keys.QWip(queue, p))
	}
	step := func(name string) (string, error) {
		s, err := b.run(ctx, b.c, call{s: b.s.cancel, keys: keys, args: []string{id, name}}).ToString()
		return s, wrap("cancel job", err)
	}
	where, err := step("mark")
	if err != nil {
		return 0, err
	}
	if where == "queued" {
		for _, set := range []backend.JobSet{backend.SetScheduled, backend.SetRetry} {
			removed, err := b.cancelInSet(ctx, set, queue, id)
			if err != nil || removed {
				return backend.CancelRemoved, err
			}
		}
		if where, err = step("settle"); err != nil {
			return 0, err
		}
	}
	switch where {
	case "none":
		return 0, fmt.Errorf("joblot/redis: cancel job %s of queue %s: %w", id, queue, backend.ErrJobNotFound)
	case "running", "queued":
		// A queued job may have been claimed by a process that
		// registered after the registry was read: tell every process.
		msg := cancelMessage(queue, id)
		if err := b.c.Do(ctx, b.c.B().Publish().Channel(b.keys.CancelChannel()).Message(msg).Build()).Error(); err != nil {
			return 0, wrap("cancel job: publish", err)
		}
		if where == "running" {
			return backend.CancelRunning, nil
		}
		return backend.CancelQueued, nil
	}
	return 0, fmt.Errorf("joblot/redis: cancel job: unexpected answer %q", where)
}

// cancelInSet looks for job id in queue's scheduled or retry set by its
// payload's prefix (the encoded id) and removes it with cancel_drop.lua.
func (b *Backend) cancelInSet(ctx context.Context, set backend.JobSet, queue, id string) (bool, error) {
	key, err := b.setKey(set, queue)
	if err != nil {
		return false, err
	}
	pattern := globEscape(string((&backend.Job{ID: id}).AppendBinary(nil))) + "*"
	cursor := uint64(0)
	for {
		e, err := b.c.Do(ctx, b.c.B().Zscan().Key(key).Cursor(cursor).Match(pattern).Count(cancelScanCount).Build()).AsScanEntry()
		if err != nil {
			return false, wrap("cancel job: search "+string(set), err)
		}
		for i := 0; i+1 < len(e.Elements); i += 2 {
			m := e.Elements[i] // the pattern holds the whole encoded id: this is the job
			var lock string
			if j, err := backend.DecodeJob([]byte(m)); err == nil {
				lock = j.UniqueKey()
			}
			n, err := b.run(ctx, b.c, call{s: b.s.cancelDrop, keys: []string{key, b.keys.QCancel(queue), b.keys.QStats(queue), b.keys.QUniq(queue)}, args: []string{id, m, lock}}).AsInt64()
			if err != nil {
				return false, wrap("cancel job", err)
			}
			if n == 0 {
				continue // it left the set meanwhile (moved to the queue): the mark catches it
			}
			if j, err := backend.DecodeJob([]byte(m)); err == nil && j.BatchID != "" && j.CallbackOf == "" {
				ev := []batchJobEvent{{batch: j.BatchID, index: j.BatchIndex, event: backend.EventCancelled}}
				now := b.now()
				out, err := b.applyBatchEvents(ctx, ev, now)
				if err != nil {
					return true, err
				}
				if out.expired > 0 {
					if err := b.countExpired(ctx, out.expired); err != nil {
						return true, err
					}
				}
				return true, b.forwardBatches(ctx, out.fired, now)
			}
			return true, nil
		}
		if cursor = e.Cursor; cursor == 0 {
			return false, nil
		}
	}
}

// globEscape escapes the characters a Redis MATCH pattern treats as glob
// syntax.
func globEscape(s string) string {
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '*', '?', '[', ']', '\\', '^', '-':
			sb.WriteByte('\\')
		}
		sb.WriteByte(s[i])
	}
	return sb.String()
}

// dropCancelled acknowledges as cancelled the jobs of got at positions
// cancelled (fetch.lua claimed them because their ids were marked), so that
// they count and their batches account them; it returns the others.
func (b *Backend) dropCancelled(ctx context.Context, proc string, got []*backend.Fetched, cancelled []int) ([]*backend.Fetched, error) {
	drop := make([]bool, len(got))
	items := make([]item, 0, len(cancelled))
	for _, i := range cancelled {
		if i < 0 || i >= len(got) || drop[i] {
			continue
		}
		drop[i] = true
		items = append(items, item{f: got[i], outcome: backend.OutcomeCancelled, mask: 3})
	}
	keep := got[:0]
	for i, f := range got {
		if !drop[i] {
			keep = append(keep, f)
		}
	}
	if err := b.acknowledge(ctx, proc, items, b.now()); err != nil {
		// The jobs stay in flight: recovery puts them back, and they run.
		return keep, fmt.Errorf("joblot/redis: fetch: drop %d cancelled jobs: %w", len(items), err)
	}
	return keep, nil
}

// cancelMessage is a cancel request on the channel: "<len(queue)>:<queue><id>",
// so that neither name needs escaping.
func cancelMessage(queue, id string) string {
	return strconv.Itoa(len(queue)) + ":" + queue + id
}

// parseCancelMessage reverses cancelMessage.
func parseCancelMessage(m string) (queue, id string, ok bool) {
	n, rest, ok := strings.Cut(m, ":")
	l, err := strconv.Atoi(n)
	if !ok || err != nil || l <= 0 || l >= len(rest) {
		return "", "", false
	}
	return rest[:l], rest[l:], true
}

// ListenCancels implements backend.CancelListener with a subscription to
// the cancel channel (SUBSCRIBE: no command while idle). When the
// connection fails it subscribes again after listenRetry; requests
// published meanwhile are lost.
func (b *Backend) ListenCancels(ctx context.Context, fn func(queue, id string)) error {
	sub := b.c.B().Subscribe().Channel(b.keys.CancelChannel()).Build()
	for {
		err := b.c.Receive(ctx, sub, func(m rueidis.PubSubMessage) {
			if q, id, ok := parseCancelMessage(m.Message); ok {
				fn(q, id)
			}
		})
		if ctx.Err() != nil {
			return nil
		}
		b.log.Warn("joblot: cancel subscription lost; subscribing again", slog.Any("err", err))
		t := time.NewTimer(listenRetry)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

var _ backend.CancelListener = (*Backend)(nil)

// FindJob implements backend.Backend (see findJob).
func (b *Backend) FindJob(ctx context.Context, queue, id string) (backend.FindJobResult, error) {
	j, set, err := b.findJob(ctx, queue, id)
	return backend.FindJobResult{Job: j, Set: set}, err
}

// findJob implements backend.Backend: HGET on queue's in-flight hash of
// every registered process (one round trip), then findByID on the queued,
// scheduled, retry and dead sets in turn (LRANGE or ZSCAN pages).
func (b *Backend) findJob(ctx context.Context, queue, id string) (*backend.Job, backend.JobSet, error) {
	notFound := fmt.Errorf("joblot/redis: job %s of queue %s: %w", id, queue, backend.ErrJobNotFound)
	if queue == "" || id == "" {
		return nil, "", notFound
	}
	procs, err := b.c.Do(ctx, b.c.B().Zrange().Key(b.keys.Procs()).Min("0").Max("-1").Build()).AsStrSlice()
	if err != nil {
		return nil, "", wrap("find job: list processes", err)
	}
	if len(procs) > 0 {
		cmds := make(rueidis.Commands, len(procs))
		for i, p := range procs {
			cmds[i] = b.c.B().Hget().Key(b.keys.QWip(queue, p)).Field(id).Build()
		}
		for _, r := range b.c.DoMulti(ctx, cmds...) {
			raw, err := r.ToString()
			if rueidis.IsRedisNil(err) {
				continue
			}
			if err != nil {
				return nil, "", wrap("find job", err)
			}
			return decodeFound(queue, raw), backend.SetInFlight, nil
		}
	}
	for _, set := range []backend.JobSet{backend.SetQueued, backend.SetScheduled, backend.SetRetry, backend.SetDead} {
		hits, err := b.findByID(ctx, set, queue, map[string]bool{id: true})
		if err != nil {
			return nil, "", err
		}
		if len(hits) > 0 {
			if hits[0].job != nil {
				return hits[0].job, set, nil
			}
			return decodeFound(queue, hits[0].member), set, nil
		}
	}
	return nil, "", notFound
}

// decodeFound decodes a stored payload, or describes one that does not
// decode by its MalformedJobID.
func decodeFound(queue, raw string) *backend.Job {
	if j, err := backend.DecodeJob([]byte(raw)); err == nil {
		return j
	}
	return &backend.Job{ID: backend.MalformedJobID([]byte(raw)), Queue: queue}
}
