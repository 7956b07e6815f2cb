package redis

import (
	"context"
	"encoding/binary"
	"errors"
	"time"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/rediskeys"
)

// ackChunk bounds the jobs of one script call when acknowledging.
const ackChunk = 500

// item is one in-flight job to acknowledge.
type item struct {
	f       *backend.Fetched
	outcome backend.Outcome
	job     *backend.Job // the job to write for retry and dead (nil: f.Job / f.Raw)
	retryAt time.Time
	// requeue, if set, is the payload to push back instead of f.Raw
	// (recovery increments Recoveries).
	requeue string
	// mask is the batch transition's verdict: bit 1 allows the retry
	// entry, bit 2 the dead entry.
	mask byte
	// output is the result's job output record (backend.Result.Output).
	output *backend.JobOutput
}

// Complete acknowledges in-flight jobs: first, for batch jobs, one
// batch_ack.lua call per batch (pipelined: one round trip), whose effects
// decide the queue-side writes; then one complete.lua call per queue and
// chunk (pipelined: one more round trip). Fired callbacks are forwarded.
func (b *Backend) Complete(ctx context.Context, proc string, results []backend.Result) error {
	items := make([]item, 0, len(results))
	for _, r := range results {
		if r.Fetched == nil || r.Fetched.Job == nil {
			return errors.New("joblot/redis: complete: result without a fetched job")
		}
		items = append(items, item{f: r.Fetched, outcome: r.Outcome, job: r.Job, retryAt: r.RetryAt, mask: 3, output: r.Output})
	}
	return b.acknowledge(ctx, proc, items, b.now())
}

// isBatchMember reports whether the fetched job is accounted in a batch
// (callback jobs are not members of the batch they report on).
func isBatchMember(f *backend.Fetched) bool {
	return f.Malformed == nil && f.Job.BatchID != "" && f.Job.CallbackOf == ""
}

func (b *Backend) acknowledge(ctx context.Context, proc string, items []item, now time.Time) error {
	// Step 1: batch transitions. The events' slice is made at the first
	// one, with room for every item left: grown by append, it cost ~250 B
	// per job of a batch.
	var events []batchJobEvent
	for i := range items {
		it := &items[i]
		ev := backend.EventOf(it.outcome)
		if ev == 0 || !isBatchMember(it.f) {
			continue
		}
		if events == nil {
			events = make([]batchJobEvent, 0, len(items)-i)
		}
		e := batchJobEvent{ref: i, batch: it.f.Job.BatchID, index: it.f.Job.BatchIndex, event: ev, manual: it.f.Job.ManualRetry}
		if ev == backend.EventFailed || ev == backend.EventDied {
			src := it.job
			if src == nil {
				src = it.f.Job
			}
			e.fail = &batchFailure{fingerprint: src.Fingerprint(), kind: src.Kind, class: src.ErrorClass, message: backend.ErrorSample(src.ErrorMessage), jobID: src.ID}
		}
		events = append(events, e)
	}
	out, err := b.applyBatchEvents(ctx, events, now)
	if err != nil {
		return err
	}
	for k, e := range events {
		items[e.ref].mask = out.masks[k]
	}

	// Step 2: the queue side.
	var (
		calls []call
		extra rueidis.Commands
	)
	byQueue := map[string][]int{}
	var order []string
	for i := range items {
		q := items[i].f.Queue
		idx, ok := byQueue[q]
		if !ok {
			order = append(order, q)
			idx = make([]int, 0, len(items)-i) // room for the rest: usually one queue, one allocation
		}
		byQueue[q] = append(idx, i)
	}
	dayTTL := itoa(int64(b.limits.StatsDays) * 86400)
	for _, q := range order {
		idx := byQueue[q]
		for len(idx) > 0 {
			n := min(len(idx), ackChunk)
			if rel, ok := b.limitReleaseCall(proc, q, items, idx[:n]); ok {
				calls = append(calls, rel) // before the ack deletes the in-flight entries
			}
			calls = append(calls, b.completeCall(proc, q, dayTTL, items, idx[:n], now))
			idx = idx[n:]
		}
	}
	calls = append(calls, b.outputCalls(items, now)...) // output.go: same round trip
	if out.expired > 0 {
		extra = append(extra, b.c.B().Hincrby().Key(b.keys.Stats()).Field("expired_batch_events").Increment(out.expired).Build())
	}
	if len(out.fired) > 0 {
		extra = append(extra, b.c.B().Sadd().Key(b.keys.Outboxes()).Member(out.fired...).Build())
	}
	var errs []error
	for i, r := range b.runMulti(ctx, b.c, calls) {
		if err := r.Error(); err != nil && !b.isOutputCall(calls[i]) {
			errs = append(errs, err)
		}
	}
	if len(extra) > 0 {
		for _, r := range b.c.DoMulti(ctx, extra...) {
			if err := r.Error(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if len(errs) > 0 {
		return wrap("complete", errors.Join(errs...))
	}

	// Step 3: callbacks.
	for _, id := range out.fired {
		if _, err := b.forwardOutbox(ctx, id, now); err != nil {
			return err
		}
	}
	for i := range items {
		it := &items[i]
		if it.outcome == backend.OutcomeSucceeded && it.f.Malformed == nil && it.f.Job.CallbackOf != "" {
			if err := b.callbackSucceeded(ctx, it.f.Job.CallbackOf, it.f.Job.CallbackEvent, now); err != nil {
				return err
			}
		}
	}
	return nil
}

// completeCall builds the complete.lua call for items idx of queue q.
func (b *Backend) completeCall(proc, q, dayTTL string, items []item, idx []int, now time.Time) call {
	succeeded := make([]string, 0, len(idx)) // most jobs succeed: no regrowth
	var usucceeded []string                  // field, lock key, job id of each unique job that succeeded
	var rest []string
	// failAt numbers the error group of each op of rest that writes a
	// failure; the call sends them as 2 bytes per op (0 for the others)
	// only when some op does.
	var failAt []opGroup
	var groups errGroups
	for _, i := range idx {
		it := &items[i]
		field := wipFieldOf(it.f)
		ukey := it.leavingUniqueKey()
		if it.outcome == backend.OutcomeSucceeded {
			if ukey != "" {
				usucceeded = append(usucceeded, field, ukey, it.f.Job.ID)
			} else {
				succeeded = append(succeeded, field)
			}
			continue
		}
		if ukey != "" {
			rest = append(rest, "U", field, ukey, it.f.Job.ID)
		}
		switch it.outcome {
		case backend.OutcomeRetry:
			if it.mask&1 == 0 {
				rest = append(rest, "N", field, "0", "")
				continue
			}
			failAt = append(failAt, opGroup{len(rest) / 4, groups.add(it, now)})
			rest = append(rest, "R", field, ms(it.retryAt), it.payload())
		case backend.OutcomeDead:
			if it.mask&2 == 0 {
				rest = append(rest, "N", field, "0", "")
				continue
			}
			died := now
			if it.job != nil && !it.job.DiedAt.IsZero() {
				died = it.job.DiedAt
			}
			failAt = append(failAt, opGroup{len(rest) / 4, groups.add(it, now)})
			rest = append(rest, "D", field, ms(died), it.deadPayload(died.UnixMilli()))
		case backend.OutcomeSnoozed:
			if it.mask&1 == 0 { // a stale duplicate: schedule nothing, count nothing
				rest = append(rest, "L", field, "0", "")
				continue
			}
			rest = append(rest, "Z", field, ms(it.retryAt), it.payload())
		case backend.OutcomeDiscarded:
			rest = append(rest, "X", field, "0", "")
		case backend.OutcomeRequeue:
			p := it.requeue
			if p == "" {
				p = string(it.f.Raw)
			}
			rest = append(rest, "Q", field, "0", p)
		case backend.OutcomeCancelled:
			rest = append(rest, "C", field, "0", "")
		default: // unknown: just let go of it
			rest = append(rest, "L", field, "0", "")
		}
	}
	args := make([]string, 0, 8+len(succeeded)+len(usucceeded)+len(rest))
	args = append(args, dayTTL, itoa(b.limits.DeadMaxJobs), itoa(len(succeeded)))
	args = append(args, succeeded...)
	args = append(args, itoa(len(usucceeded)/3))
	args = append(args, usucceeded...)
	args = append(args, rest...)
	hour, pf, ff, minTTL := minuteArgs(now)
	args = append(args, hour, pf, ff, minTTL)
	keys := b.qkeys.queue(q).forComplete(proc, now)
	if len(groups.args) > 0 {
		nums := make([]byte, 2*(len(rest)/4))
		for _, f := range failAt {
			binary.BigEndian.PutUint16(nums[2*f.op:], f.group)
		}
		keys, args = b.withErrorGroups(q, keys, args, groups.args, nums, now)
	}
	return call{s: b.s.complete, keys: keys, args: args}
}

// withErrorGroups adds to a complete.lua call the queue's error bucket of
// now's hour and the trailing arguments that count its failures there:
// each op's group number (nums) and the call's distinct groups
// (fingerprint and sample pairs).
func (b *Backend) withErrorGroups(q string, keys, args, groups []string, nums []byte, now time.Time) ([]string, []string) {
	hour := backend.ErrorHour(now)
	ttl := hour.Add(backend.ErrorBucket + b.limits.ErrorGroupRetention).Sub(now)
	secs := int64((ttl + time.Second - 1) / time.Second)
	tail := len(args)
	args = append(args, ms(now), itoa(secs), itoa(b.limits.ErrorGroupsPerHour), string(nums))
	args = append(args, groups...)
	args = append(args, itoa(len(args)-tail))
	return append(keys, b.keys.QErrs(q, hour.Format(rediskeys.ErrHourFormat))), args
}

// opGroup is the error group of the op-th op of a complete.lua call.
type opGroup struct {
	op    int
	group uint16
}

// errGroups are the distinct error groups of one complete.lua call, each
// sample encoded once.
type errGroups struct {
	args []string       // fingerprint, sample, ...
	num  map[string]int // fingerprint -> its number (1-based)
}

// add returns the number of the group of the failure it writes. A call
// holds at most ackChunk ops, so the number fits 2 bytes.
func (g *errGroups) add(it *item, now time.Time) uint16 {
	j := it.job
	if j == nil {
		j = it.f.Job
	}
	fp := j.Fingerprint()
	n, ok := g.num[fp]
	if !ok {
		if g.num == nil {
			g.num = map[string]int{}
		}
		g.args = append(g.args, fp, encodeErrSample(j, now))
		n = len(g.args) / 2
		g.num[fp] = n
	}
	return uint16(n)
}

// leavingUniqueKey returns the unique lock key of a job this ack takes out
// of the store, "" when it has none or stays (a retry, a snooze, a
// requeue or a recovery keep the lock).
func (it *item) leavingUniqueKey() string {
	if it.f.Malformed != nil || len(it.f.Job.UnknownFields) == 0 {
		return ""
	}
	switch it.outcome {
	case backend.OutcomeRequeue:
		return ""
	case backend.OutcomeRetry, backend.OutcomeSnoozed:
		if it.mask&1 != 0 { // written back: it stays
			return ""
		}
	}
	return it.f.Job.UniqueKey()
}

// payload is what a retry or dead entry stores.
func (it *item) payload() string {
	if it.job != nil {
		return encode(it.job)
	}
	return string(it.f.Raw)
}
