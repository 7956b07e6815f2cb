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
	fields := []string{"total", "pending", "failing", "succeeded", "dead", "discarded", "cancelled", "removed", "committed_at", "pages"}
	vals, err := b.c.Do(ctx, b.c.B().Hmget().Key(keys[0]).Field(fields...).Build()).ToArray()
	if err != nil {
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
	psizeStr, _ := vals[9].ToString()
	psize, _ := strconv.ParseInt(psizeStr, 10, 64)
	total := max(facts.Counters[0], 0)
	facts.States = make([]backend.JobState, total)
	snap, err := b.readStates(ctx, keys, total, psize, facts.States)
	if err != nil {
		return backend.VerifyBatchResult{}, wrap("verify batch "+p.ID, err)
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
	sum := sha1.Sum(snap)
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
		settles := "0"
		if ch.Settles {
			settles = "1"
		}
		args = append(args, itoa(ch.Index), itoa(int64(ch.State)), settles)
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

// readStates reads the 2-bit states of a batch's jobs into states and
// returns the snapshot batch_repair.lua compares: the bit string of an
// unpaged batch; for a paged one (psize > 0) every page's
// "<length>:<bytes>", then the pdone string's. A dropped page's jobs read
// as backend.DroppedPageState, a missing page's as pending.
func (b *Backend) readStates(ctx context.Context, keys []string, total, psize int64, states []backend.JobState) ([]byte, error) {
	get := func(key string) rueidis.Completed { return b.c.B().Get().Key(key).Build() }
	str := func(r rueidis.RedisResult) (string, error) {
		v, err := r.ToString()
		if rueidis.IsRedisNil(err) {
			return "", nil
		}
		return v, err
	}
	state := func(s string, slot int64) backend.JobState {
		// BITFIELD u2 at #slot: bits 2*slot, 2*slot+1, most significant first.
		if by := slot / 4; by < int64(len(s)) {
			return backend.JobState(s[by]>>(6-2*(slot%4))) & 3
		}
		return backend.StatePending
	}
	if psize <= 0 {
		bits, err := str(b.c.Do(ctx, get(keys[1])))
		for i := range states {
			states[i] = state(bits, int64(i))
		}
		return []byte(bits), err
	}
	npages := (total + psize - 1) / psize
	cmds := make(rueidis.Commands, 0, npages+1)
	for p := range npages {
		cmds = append(cmds, get(keys[1]+":"+strconv.FormatInt(p, 10)))
	}
	cmds = append(cmds, get(keys[10]))
	rs := b.c.DoMulti(ctx, cmds...)
	done, err := str(rs[npages])
	if err != nil {
		return nil, err
	}
	var snap []byte
	for p := range npages {
		page, err := str(rs[p])
		if err != nil {
			return nil, err
		}
		snap = append(append(strconv.AppendInt(snap, int64(len(page)), 10), ':'), page...)
		dropped := p/8 < int64(len(done)) && done[p/8]&(0x80>>(p%8)) != 0
		for slot := int64(0); slot < psize && p*psize+slot < total; slot++ {
			if dropped {
				states[p*psize+slot] = backend.DroppedPageState
			} else {
				states[p*psize+slot] = state(page, slot)
			}
		}
	}
	snap = append(append(strconv.AppendInt(snap, int64(len(done)), 10), ':'), done...)
	return snap, nil
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
