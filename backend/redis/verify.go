package redis

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/backend"
)

// verifyPage is the page size of VerifyBatch's scans.
const verifyPage = 1000

// VerifyBatch implements backend.Backend: it reads the batch's counters and
// bits (one pipeline), then finds its jobs in every queue's queued,
// scheduled, retry and dead sets (ListJobs pages filtered by batch) and in
// every process's in-flight hashes, and compares (backend.PlanBatchRepair).
// A job missing from the first scan is looked for once more, since a job
// may move between sets while they are read. The repair is one script in
// the batch's slot that refuses if the bits or counters changed since they
// were read (backend.ErrBatchChanged); moves between sets that change no
// batch state are not seen by it, so repair a batch whose jobs are not
// moving (its workers stopped, or nothing of it left to run).
func (b *Backend) VerifyBatch(ctx context.Context, p backend.VerifyBatchParams) (backend.VerifyBatchResult, error) {
	now := b.now()
	keys := b.keys.BatchKeys(p.ID)
	// The counters in backend.Counter order ("total" first), then the
	// commit time.
	fields := []string{"total", "pending", "failing", "succeeded", "dead", "discarded", "cancelled", "removed", "committed_at"}
	rs := b.c.DoMulti(ctx,
		b.c.B().Hmget().Key(keys[0]).Field(fields...).Build(),
		b.c.B().Get().Key(keys[1]).Build())
	vals, err := rs[0].ToArray()
	if err != nil {
		return backend.VerifyBatchResult{}, wrap("verify batch "+p.ID, err)
	}
	bits, err := rs[1].ToString()
	if err != nil && !rueidis.IsRedisNil(err) {
		return backend.VerifyBatchResult{}, wrap("verify batch "+p.ID, err)
	}
	if vals[0].IsNil() {
		return backend.VerifyBatchResult{}, fmt.Errorf("joblot/redis: verify batch %s: %w", p.ID, backend.ErrBatchNotFound)
	}
	var facts backend.BatchFacts
	for i := range facts.Counters {
		s, _ := vals[i].ToString()
		facts.Counters[i], _ = strconv.ParseInt(s, 10, 64)
	}
	facts.Committed = !vals[8].IsNil()
	total := max(facts.Counters[0], 0)
	facts.States = make([]backend.JobState, total)
	for i := range facts.States {
		// BITFIELD u2 at #i: bits 2i, 2i+1, most significant first.
		if by := i / 4; by < len(bits) {
			facts.States[i] = backend.JobState(bits[by]>>(6-2*(i%4))) & 3
		}
	}
	if err := b.scanBatchJobs(ctx, p.ID, &facts); err != nil {
		return backend.VerifyBatchResult{}, err
	}
	plan := backend.PlanBatchRepair(&facts)
	for _, pr := range plan.Problems {
		if pr.Kind == backend.ProblemLostJob {
			if err := b.scanBatchJobs(ctx, p.ID, &facts); err != nil {
				return backend.VerifyBatchResult{}, err
			}
			plan = backend.PlanBatchRepair(&facts)
			break
		}
	}
	res := plan.Result(p.ID, &facts)
	if !p.Repair || !plan.Dirty(facts.Counters) && !plan.Death {
		return res, nil
	}
	sum := sha1.Sum([]byte(bits))
	args := append([]string{ms(now)}, b.ttlArgs()...)
	args = append(args, hex.EncodeToString(sum[:]))
	for _, c := range facts.Counters {
		args = append(args, itoa(c))
	}
	death := "0"
	if plan.Death {
		death = "1"
	}
	args = append(args, death)
	for _, c := range plan.Counters[1:] {
		args = append(args, itoa(c))
	}
	for _, ch := range plan.Changes {
		args = append(args, itoa(ch.Index), itoa(int64(ch.State)))
	}
	status, fired, err := firedReply(b.run(ctx, b.c, call{s: b.s.batchRepair, keys: keys, args: args}))
	if err != nil {
		return res, wrap("repair batch "+p.ID, err)
	}
	switch status {
	case -1:
		return res, fmt.Errorf("joblot/redis: repair batch %s: %w", p.ID, backend.ErrBatchNotFound)
	case -3:
		return res, fmt.Errorf("joblot/redis: repair batch %s: %w", p.ID, backend.ErrBatchChanged)
	}
	res.Repaired = true
	for _, f := range fired {
		res.Fired = append(res.Fired, backend.CallbackEvent(f))
	}
	return res, b.forwardFired(ctx, p.ID, fired, now)
}

// scanBatchJobs records in facts every job of batch id found in a queue, a
// set or in flight.
func (b *Backend) scanBatchJobs(ctx context.Context, id string, facts *backend.BatchFacts) error {
	// In flight first, then queued, so a job fetched meanwhile is seen in
	// at least one of them; scheduled and retry before queued, so is one
	// moved due.
	if err := b.scanInFlight(ctx, id, facts); err != nil {
		return err
	}
	for _, set := range []backend.JobSet{backend.SetScheduled, backend.SetRetry, backend.SetQueued, backend.SetDead} {
		f := backend.JobFilter{Set: set, BatchID: id, Limit: verifyPage}
		for {
			page, err := b.ListJobs(ctx, f)
			if err != nil {
				return fmt.Errorf("joblot/redis: verify batch %s: %w", id, err)
			}
			for _, j := range page.Jobs {
				facts.Observe(backend.FoundJob{ID: j.ID, Queue: j.Queue, Set: set, Index: j.BatchIndex})
			}
			if page.Next == "" {
				break
			}
			f.Cursor = page.Next
		}
	}
	return nil
}

// scanInFlight reads every registered process's in-flight hash of every
// queue (HSCAN pages, pipelined across hashes).
func (b *Backend) scanInFlight(ctx context.Context, id string, facts *backend.BatchFacts) error {
	procs, err := b.c.Do(ctx, b.c.B().Zrange().Key(b.keys.Procs()).Min("0").Max("-1").Build()).AsStrSlice()
	if err != nil {
		return wrap("verify batch: list processes", err)
	}
	queues, err := b.scopeQueues(ctx, "")
	if err != nil {
		return err
	}
	type hash struct {
		key, queue string
		cursor     uint64
	}
	var todo []hash
	for _, p := range procs {
		for _, q := range queues {
			todo = append(todo, hash{key: b.keys.QWip(q, p), queue: q})
		}
	}
	for len(todo) > 0 {
		n := min(len(todo), 100)
		cmds := make(rueidis.Commands, n)
		for i, h := range todo[:n] {
			cmds[i] = b.c.B().Hscan().Key(h.key).Cursor(h.cursor).Count(verifyPage).Build()
		}
		var next []hash
		for i, r := range b.c.DoMulti(ctx, cmds...) {
			e, err := r.AsScanEntry()
			if err != nil {
				return wrap("verify batch: scan in-flight jobs", err)
			}
			for k := 1; k < len(e.Elements); k += 2 {
				j, err := backend.DecodeJob([]byte(e.Elements[k]))
				if err != nil || j.BatchID != id {
					continue
				}
				facts.Observe(backend.FoundJob{ID: j.ID, Queue: todo[i].queue, Set: backend.SetInFlight, Index: j.BatchIndex})
			}
			if e.Cursor != 0 {
				h := todo[i]
				h.cursor = e.Cursor
				next = append(next, h)
			}
		}
		todo = append(next, todo[n:]...)
	}
	return nil
}
