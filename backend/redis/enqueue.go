package redis

import (
	"context"
	"errors"
	"fmt"
	"time"
	"unsafe"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/backend"
)

// enqueueChunk is how many jobs of one queue go into one command.
const enqueueChunk = 1000

// onceTTL is how long a callback's deterministic job id is remembered to
// dedupe forwarders that race or re-run after a crash. (Jobs added from
// inside a job used it too, at ~185 B per job; records of that time still
// re-enqueue under it, see lua/addsrec.lua.)
const onceTTL = 7 * 24 * time.Hour

// Enqueue stores jobs: per queue and chunk, one RPUSH when every job is due
// now and needs no dedupe (the common case), otherwise one enqueue.lua
// call, which takes unique jobs' locks in the same call and reports the
// jobs it skipped as duplicates. A queue that got an RPUSH then has its
// bell rung (see ringCall). All the chunks go in one pipeline. A chunk
// refused at maxmemory stores nothing and the error wraps
// backend.ErrStoreFull.
func (b *Backend) Enqueue(ctx context.Context, jobs []*backend.Job) (backend.EnqueueResult, error) {
	return b.enqueue(ctx, jobs, false)
}

// enqueue is Enqueue; with once, every job is stored only if its ID was not
// stored in the last onceTTL (as callbacks always are). Only adds recovering
// a legacy adds record set once.
func (b *Backend) enqueue(ctx context.Context, jobs []*backend.Job, once bool) (backend.EnqueueResult, error) {
	var res backend.EnqueueResult
	if len(jobs) == 0 {
		return res, nil
	}
	byQueue := map[string][]int{} // queue -> indexes into jobs
	var order []string
	for i, j := range jobs {
		if j.ID == "" {
			return res, fmt.Errorf("joblot/redis: enqueue: job of kind %q has no ID", j.Kind)
		}
		if j.Queue == "" {
			return res, fmt.Errorf("joblot/redis: enqueue: job %s has no queue", j.ID)
		}
		if _, ok := byQueue[j.Queue]; !ok {
			order = append(order, j.Queue)
		}
		byQueue[j.Queue] = append(byQueue[j.Queue], i)
	}
	now := b.now()
	var (
		cmds  rueidis.Commands
		calls []*call // calls[i] is the script call of cmds[i], nil for a plain command
		// rings[i] says cmds[i] rings a bell: its reply is not the
		// enqueue's (see ringCmds).
		rings []bool
		// dedupes[i] holds the indexes (into jobs) of the chunk of cmds[i]
		// when that call may skip duplicates, nil otherwise.
		dedupes [][]int
	)
	fresh := b.newQueues(order)
	if len(fresh) > 0 {
		cmds = append(cmds, b.c.B().Sadd().Key(b.keys.Queues()).Member(fresh...).Build())
		calls, dedupes, rings = append(calls, nil), append(dedupes, nil), append(rings, false)
	}
	first := len(cmds)
	chunk := make([]*backend.Job, 0, min(len(jobs), enqueueChunk))
	for _, q := range order {
		idx := byQueue[q]
		pushed := false
		for len(idx) > 0 {
			n := min(len(idx), enqueueChunk)
			chunk = chunk[:0]
			for _, i := range idx[:n] {
				chunk = append(chunk, jobs[i])
			}
			cmd, c, dedupe := b.enqueueCmd(q, chunk, now, once)
			cmds, calls, rings = append(cmds, cmd), append(calls, c), append(rings, false)
			pushed = pushed || c == nil
			if dedupe {
				dedupes = append(dedupes, idx[:n])
			} else {
				dedupes = append(dedupes, nil)
			}
			idx = idx[n:]
		}
		if pushed {
			rc := b.ringCall(q)
			cmds, calls, dedupes, rings = append(cmds, rc.evalsha(b.c)), append(calls, &rc), append(dedupes, nil), append(rings, true)
		}
	}
	var errs []error
	for i, r := range b.c.DoMulti(ctx, cmds...) {
		err := r.Error()
		if isNoScript(err) && calls[i] != nil {
			r = b.c.Do(ctx, calls[i].eval(b.c))
			err = r.Error()
		}
		if rings[i] {
			// The jobs are stored either way; an unrung bell only leaves
			// an idle fetcher to its IdleWaitTimeout.
			if err != nil {
				b.log.Debug("joblot/redis: ring a queue's bell", "err", err)
			}
			continue
		}
		if i < first && err != nil {
			b.forgetQueues(fresh)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if dedupes[i] != nil {
			skipped, err := parseSkipped(r, dedupes[i])
			if err != nil {
				errs = append(errs, err)
				continue
			}
			res.Skipped = append(res.Skipped, skipped...)
		}
	}
	if len(errs) > 0 {
		return res, wrap("enqueue", errors.Join(errs...))
	}
	res.Sort()
	return res, nil
}

// enqueueCmd builds the command storing jobs (all of queue q), and the
// script call it runs if it is one (nil for a plain RPUSH). Callbacks, and every job when once is
// set, are deduplicated by ID, unique jobs by their lock; dedupe says the
// call may skip some and replies with their positions.
func (b *Backend) enqueueCmd(q string, jobs []*backend.Job, now time.Time, once bool) (cmd rueidis.Completed, c *call, dedupe bool) {
	simple := !once
	for _, j := range jobs {
		if j.RunAt.After(now) || j.CallbackOf != "" || len(j.UnknownFields) > 0 && j.UniqueKey() != "" {
			simple = false
			break
		}
	}
	if simple {
		// A plain RPUSH, not a script: a script's ARGV is copied into Lua
		// strings and again into the nested command's arguments, which
		// cost Redis ~0.5 µs a job more than the push itself.
		payloads := make([]string, len(jobs))
		for i, j := range jobs {
			payloads[i] = encode(j)
		}
		return b.c.B().Rpush().Key(b.qkeys.queue(q).jobs).Element(payloads...).Build(), nil, false
	}
	args := make([]string, 0, 2+4*len(jobs))
	args = append(args, itoa(onceTTL.Milliseconds()), ms(now))
	for _, j := range jobs {
		mode := "n"
		score := "0"
		if j.RunAt.After(now) {
			mode, score = "s", ms(j.RunAt)
		}
		if once || j.CallbackOf != "" {
			mode = map[string]string{"n": "N", "s": "S"}[mode]
		}
		key, until := j.Unique()
		if key == "" {
			args = append(args, mode, score, j.ID, encode(j))
			continue
		}
		args = append(args, mode+"u", score, j.ID, encode(j), key, uniqueValue(j.ID, until))
	}
	k := b.qkeys.queue(q)
	ec := call{s: b.s.enqueue, keys: []string{k.jobs, k.sched, k.prefix, k.uniq}, args: args}
	b.observe(ec)
	return ec.evalsha(b.c), &ec, true
}

// ringCall rings queue q's bell after an RPUSH of its jobs (ring.lua),
// unless the queue is paused: the bell keeps at most one ring, for the
// next idle fetcher of any process to take with BLPOP. Unlike push.lua's
// ring it does not ask whether the queue had been empty (only the push's
// reply tells, a round trip later): a ring while the queue already held
// jobs wakes an idle fetcher that finds jobs, or stays for the next one to
// wait, which then fetches once more than it needed to. Sent after the
// RPUSH on the same connection, so a woken fetcher finds the jobs.
func (b *Backend) ringCall(q string) call {
	c := call{s: b.s.ring, keys: b.qkeys.queue(q).ring}
	b.observe(c)
	return c
}

// encode returns a job's stored form.
func encode(j *backend.Job) string {
	// Sized exactly: a guess left a batch's jobs (their batch ID) a
	// reallocation short.
	b := j.AppendBinary(make([]byte, 0, j.BinarySize()))
	// The buffer is the string's: nothing else holds it, so it need not be
	// copied (as strings.Builder does).
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// uniqueValue is what a unique lock held by job id stores in the queue's
// :uniq hash (see lua/uniqlib.lua).
func uniqueValue(id string, until time.Time) string {
	if until.IsZero() {
		return id
	}
	return id + " " + ms(until)
}

// parseSkipped reads enqueue.lua's reply: pairs of a 1-based position in
// the chunk whose job indexes are idx, and the id of the job it duplicates.
func parseSkipped(r rueidis.RedisResult, idx []int) ([]backend.Skipped, error) {
	flat, err := r.ToArray()
	if err != nil {
		return nil, err
	}
	var out []backend.Skipped
	for k := 0; k+1 < len(flat); k += 2 {
		pos, err := flat[k].AsInt64()
		if err != nil {
			return nil, err
		}
		id, err := flat[k+1].ToString()
		if err != nil {
			return nil, err
		}
		if pos < 1 || int(pos) > len(idx) {
			return nil, fmt.Errorf("enqueue.lua skipped position %d of %d", pos, len(idx))
		}
		out = append(out, backend.Skipped{Index: idx[pos-1], ExistingID: id})
	}
	return out, nil
}
