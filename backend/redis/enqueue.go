package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

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

// Enqueue stores jobs: per queue and chunk, one push.lua call (an RPUSH that
// rings the queue's bell when it was empty) when every job is due now and
// needs no dedupe (the common case), otherwise one enqueue.lua call.
// All the chunks go in one pipeline. A chunk refused at maxmemory stores
// nothing and the error wraps backend.ErrStoreFull.
func (b *Backend) Enqueue(ctx context.Context, jobs []*backend.Job) error {
	return b.enqueue(ctx, jobs, false)
}

// enqueue is Enqueue; with once, every job is stored only if its ID was not
// stored in the last onceTTL (as callbacks always are). Only adds recovering
// a legacy adds record set once.
func (b *Backend) enqueue(ctx context.Context, jobs []*backend.Job, once bool) error {
	if len(jobs) == 0 {
		return nil
	}
	byQueue := map[string][]*backend.Job{}
	var order []string
	for _, j := range jobs {
		if j.ID == "" {
			return fmt.Errorf("joblot/redis: enqueue: job of kind %q has no ID", j.Kind)
		}
		if j.Queue == "" {
			return fmt.Errorf("joblot/redis: enqueue: job %s has no queue", j.ID)
		}
		if _, ok := byQueue[j.Queue]; !ok {
			order = append(order, j.Queue)
		}
		byQueue[j.Queue] = append(byQueue[j.Queue], j)
	}
	now := b.now()
	var (
		cmds  rueidis.Commands
		calls []*call // calls[i] is the script call of cmds[i], nil for a plain command
	)
	fresh := b.newQueues(order)
	if len(fresh) > 0 {
		cmds = append(cmds, b.c.B().Sadd().Key(keyQueues).Member(fresh...).Build())
		calls = append(calls, nil)
	}
	first := len(cmds)
	for _, q := range order {
		qjobs := byQueue[q]
		for len(qjobs) > 0 {
			n := min(len(qjobs), enqueueChunk)
			cmd, c := b.enqueueCmd(q, qjobs[:n], now, once)
			cmds, calls = append(cmds, cmd), append(calls, c)
			qjobs = qjobs[n:]
		}
	}
	var errs []error
	for i, r := range b.c.DoMulti(ctx, cmds...) {
		err := r.Error()
		if i < first && err != nil {
			b.forgetQueues(fresh)
		}
		if isNoScript(err) && calls[i] != nil {
			err = b.c.Do(ctx, calls[i].eval(b.c)).Error()
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return wrap("enqueue", errors.Join(errs...))
	}
	return nil
}

// enqueueCmd builds the command storing jobs (all of queue q), and the
// script call it runs if it is one. Callbacks, and every job when once is
// set, are deduplicated by ID.
func (b *Backend) enqueueCmd(q string, jobs []*backend.Job, now time.Time, once bool) (rueidis.Completed, *call) {
	simple := !once
	for _, j := range jobs {
		if j.RunAt.After(now) || j.CallbackOf != "" {
			simple = false
			break
		}
	}
	if simple {
		payloads := make([]string, len(jobs))
		for i, j := range jobs {
			payloads[i] = encode(j)
		}
		c := call{s: b.s.push, keys: []string{qJobs(q), qBell(q)}, args: payloads}
		b.observe(c)
		return c.evalsha(b.c), &c
	}
	args := make([]string, 0, 1+4*len(jobs))
	args = append(args, itoa(onceTTL.Milliseconds()))
	for _, j := range jobs {
		mode := "n"
		score := "0"
		if j.RunAt.After(now) {
			mode, score = "s", ms(j.RunAt)
		}
		if once || j.CallbackOf != "" {
			mode = map[string]string{"n": "N", "s": "S"}[mode]
		}
		args = append(args, mode, score, j.ID, encode(j))
	}
	c := call{s: b.s.enqueue, keys: []string{qJobs(q), qSched(q), qPrefix(q)}, args: args}
	b.observe(c)
	return c.evalsha(b.c), &c
}

// encode returns a job's stored form.
func encode(j *backend.Job) string {
	return string(j.AppendBinary(make([]byte, 0, 64+len(j.Args)+len(j.ErrorMessage)+len(j.Backtrace))))
}
