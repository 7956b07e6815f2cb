package bolt

import (
	"context"

	"github.com/joblot/joblot/backend"
)

// VerifyBatch implements backend.Backend: in one write transaction it reads
// the batch's counters and bits, finds its jobs in every queue's queued,
// scheduled, retry, dead and in-flight buckets, compares
// (backend.PlanBatchRepair) and, with p.Repair, writes the corrected state
// and fires what it makes due. Nothing can move in between, so the repair
// needs no change check. It reads every stored job: an operator's tool.
func (b *Backend) VerifyBatch(ctx context.Context, p backend.VerifyBatchParams) (backend.VerifyBatchResult, error) {
	var res backend.VerifyBatchResult
	err := b.update(ctx, func(c *txc) error {
		bt, err := c.batch(p.ID)
		if err != nil {
			return clean(err)
		}
		if bt == nil {
			return clean(backend.ErrBatchNotFound)
		}
		facts := backend.BatchFacts{Counters: bt.m.Counters, Committed: bt.m.Committed != 0}
		facts.States = make([]backend.JobState, max(bt.m.total(), 0))
		for i := range facts.States {
			facts.States[i] = bt.state(int64(i))
		}
		if err := scanBatchJobs(c, p.ID, &facts); err != nil {
			return clean(err)
		}
		plan := backend.PlanBatchRepair(&facts)
		res = plan.Result(p.ID, &facts)
		if !p.Repair || !plan.Dirty(facts.Counters) && !plan.Death {
			return nil
		}
		for _, ch := range plan.Changes {
			bt.setState(ch.Index, ch.State)
		}
		bt.m.Counters = plan.Counters
		bt.touched = true
		before := bt.m
		if plan.Death {
			if err := c.fireDeath(bt); err != nil {
				return err
			}
		}
		if err := c.checkFire(bt); err != nil {
			return err
		}
		res.Repaired = true
		for _, f := range []struct {
			was, is int64
			ev      backend.CallbackEvent
		}{{before.Complete, bt.m.Complete, backend.CallbackComplete}, {before.Settled, bt.m.Settled, backend.CallbackSettled},
			{before.Success, bt.m.Success, backend.CallbackSuccess}, {before.Death, bt.m.Death, backend.CallbackDeath}} {
			if f.was == 0 && f.is != 0 {
				res.Fired = append(res.Fired, f.ev)
			}
		}
		return nil
	})
	return res, wrapErr("verify batch "+p.ID, err)
}

// scanBatchJobs records in facts every job of batch id stored in a queue.
func scanBatchJobs(c *txc, id string, facts *backend.BatchFacts) error {
	all := c.tx.Bucket(bucketQueues)
	if all == nil {
		return nil
	}
	sets := []struct {
		set backend.JobSet
		sub []byte
	}{{backend.SetQueued, subJobs}, {backend.SetScheduled, subSched}, {backend.SetRetry, subRetry}, {backend.SetDead, subDead}, {backend.SetInFlight, subWip}}
	return all.ForEachBucket(func(name []byte) error {
		qb := all.Bucket(name)
		for _, s := range sets {
			sb := qb.Bucket(s.sub)
			if sb == nil {
				continue
			}
			cur := sb.Cursor()
			for k, v := cur.First(); k != nil; k, v = cur.Next() {
				raw := setPayload(s.set, v)
				j, err := backend.DecodeJob(raw)
				if err != nil || j.BatchID != id {
					continue
				}
				facts.Observe(backend.FoundJob{ID: j.ID, Queue: string(name), Set: s.set, Index: j.BatchIndex})
			}
		}
		return nil
	})
}
