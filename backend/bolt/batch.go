package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/joblot/joblot/backend"
)

// Batch accounting calls backend.Transition for every event, in the same
// transaction as the queue-side write its Effect decides. A callback is
// written and enqueued in the transaction that fires it, under its
// deterministic id, so there is never anything left in an outbox:
// ForwardCallbacks only runs the janitor.

// batchJobEvent applies ev to job j of a batch. tracked is false when the
// batch no longer exists: nothing is recreated and the event is counted in
// Stats.ExpiredBatchEvents. failed carries the error fields of a failure.
func (c *txc) batchJobEvent(j *backend.Job, ev backend.BatchEvent, failed *backend.Job) (backend.Effect, bool, error) {
	bt, err := c.batch(j.BatchID)
	if err != nil {
		return backend.Effect{}, false, err
	}
	if bt == nil || j.BatchIndex < 0 || j.BatchIndex >= bt.m.total() {
		c.globals().ExpiredBatchEvents++
		return backend.Effect{}, false, nil
	}
	old := bt.state(j.BatchIndex)
	eff := backend.Transition(old, ev, j.ManualRetry)
	if eff.New != old {
		bt.setState(j.BatchIndex, eff.New)
	}
	if eff.PageSettles() {
		bt.settle(j.BatchIndex)
	}
	if eff.Dec != backend.CounterNone {
		bt.m.Counters[eff.Dec]--
	}
	if eff.Inc != backend.CounterNone {
		bt.m.Counters[eff.Inc]++
	}
	bt.touched = true
	if failed != nil && (ev == backend.EventFailed || ev == backend.EventDied) && eff.Inc != backend.CounterNone {
		// Only a failure that moved the job's state counts (P->F, X->F of a
		// manual retry, P/F->X dead), so a repeated ack counts once.
		if err := c.countError(bt, failed); err != nil {
			return eff, true, err
		}
	}
	if eff.FirstDeath {
		if err := c.fireDeath(bt); err != nil {
			return eff, true, err
		}
	}
	return eff, true, c.checkFire(bt)
}

// checkFire fires complete, settled and success, in that order, when
// backend.BatchGate.Due says they are due (docs/batch-states.md).
func (c *txc) checkFire(bt *btx) error {
	m := &bt.m
	complete, settled, success := backend.BatchGate{
		Committed: m.Committed != 0, Expired: m.Expired, Cancelled: m.Cancelled != 0,
		Complete: m.Complete != 0, Settled: m.Settled != 0, Success: m.Success != 0,
		Total: m.total(), Pending: m.Counters[backend.CounterPending], Failing: m.Counters[backend.CounterFailing],
		Succeeded:    m.Counters[backend.CounterSucceeded],
		KidsComplete: m.KidsComplete, KidsSettled: m.KidsSettled, KidsSuccess: m.KidsSuccess,
	}.Due()
	for _, f := range []struct {
		due bool
		at  *int64
		ev  backend.CallbackEvent
	}{{complete, &m.Complete, backend.CallbackComplete}, {settled, &m.Settled, backend.CallbackSettled}, {success, &m.Success, backend.CallbackSuccess}} {
		if !f.due {
			continue
		}
		*f.at = int64(ms(c.now))
		bt.touched = true
		if err := c.fire(bt, f.ev); err != nil {
			return err
		}
	}
	return nil
}

// fireDeath fires the batch's death callback once, and its ancestors'.
func (c *txc) fireDeath(bt *btx) error {
	for bt != nil && bt.m.Death == 0 {
		bt.m.Death = int64(ms(c.now))
		bt.touched = true
		if err := c.fire(bt, backend.CallbackDeath); err != nil {
			return err
		}
		if bt.m.Parent == "" {
			return nil
		}
		parent, err := c.batch(bt.m.Parent)
		if err != nil {
			return err
		}
		if parent == nil {
			c.globals().ExpiredBatchEvents++
		}
		bt = parent
	}
	return nil
}

// fire enqueues the batch's callback for ev. A child without a callback for
// complete, settled or success tells its parent directly that it is done.
func (c *txc) fire(bt *btx, ev backend.CallbackEvent) error {
	if raw := bt.m.Callbacks[ev]; raw != nil {
		j, err := backend.DecodeJob(raw)
		if err != nil {
			return fmt.Errorf("batch %s: unreadable %s callback: %w", bt.id, ev, err)
		}
		j.CreatedAt = c.now
		_, err = c.enqueue(j)
		return err
	}
	if ev != backend.CallbackDeath && bt.m.Parent != "" {
		return c.kidDone(bt.m.Parent, bt.id, ev)
	}
	return nil
}

// callbackSucceeded is called when a callback job of batch id succeeds: a
// child's complete, settled or success callback releases its parent.
func (c *txc) callbackSucceeded(id string, ev backend.CallbackEvent) error {
	if ev == backend.CallbackDeath {
		return nil
	}
	bt, err := c.batch(id)
	if err != nil || bt == nil || bt.m.Parent == "" {
		return err
	}
	return c.kidDone(bt.m.Parent, id, ev)
}

// kidDone records that child kid of parent id is done for ev (once).
func (c *txc) kidDone(id, kid string, ev backend.CallbackEvent) error {
	p, err := c.batch(id)
	if err != nil {
		return err
	}
	if p == nil {
		c.globals().ExpiredBatchEvents++
		return nil
	}
	flags, ok := p.kidFlags(kid)
	if !ok {
		return nil
	}
	if ev == backend.CallbackSettled {
		// Clear the wait, so a repeated report counts once; a child
		// registered without it (after the parent settled, or by an older
		// joblot) gates nothing.
		if flags&kidSettledWait == 0 {
			return nil
		}
		if err := p.setKidFlags(kid, flags&^kidSettledWait); err != nil {
			return err
		}
		p.m.KidsSettled--
		p.touched = true
		return c.checkFire(p)
	}
	bit := kidCompleteDone
	if ev == backend.CallbackSuccess {
		bit = kidSuccessDone
	}
	if flags&bit != 0 {
		return nil
	}
	if err := p.setKidFlags(kid, flags|bit); err != nil {
		return err
	}
	if ev == backend.CallbackSuccess {
		p.m.KidsSuccess--
	} else if flags&kidLate == 0 {
		p.m.KidsComplete--
	}
	p.touched = true
	return c.checkFire(p)
}

// CreateBatch creates a batch and registers it with its parent. Creating an
// existing batch is a no-op.
func (b *Backend) CreateBatch(ctx context.Context, spec *backend.BatchSpec) error {
	jobs, err := spec.CallbackJobs()
	if err != nil {
		return fmt.Errorf("joblot/bolt: create batch: %w", err)
	}
	cbs := make(map[backend.CallbackEvent][]byte, len(jobs))
	for ev, j := range jobs {
		cbs[ev] = encode(j)
	}
	err = b.update(ctx, func(c *txc) error {
		if bt, err := c.batch(spec.ID); err != nil || bt != nil {
			return clean(err)
		}
		var parent *btx
		if spec.ParentID != "" {
			var err error
			if parent, err = c.batch(spec.ParentID); err != nil {
				return clean(err)
			}
			if parent == nil {
				return clean(fmt.Errorf("parent %s: %w", spec.ParentID, backend.ErrBatchNotFound))
			}
			if parent.m.state().Finished() {
				return clean(fmt.Errorf("parent %s: %w", spec.ParentID, backend.ErrBatchFinished))
			}
		}
		created := spec.CreatedAt
		if created.IsZero() {
			created = c.now
		}
		deadline := spec.CommitDeadline
		if deadline.IsZero() {
			deadline = created.Add(backend.DefaultCommitTimeout)
		}
		bk, err := c.bucket(bucketBatches).CreateBucket([]byte(spec.ID))
		if err != nil {
			return err
		}
		bt := &btx{id: spec.ID, bk: bk, pages: map[uint32][]byte{}, dirty: map[uint32]bool{}, touched: true}
		bt.m = batchMeta{Desc: spec.Description, Parent: spec.ParentID, Created: int64(ms(created)), Deadline: int64(ms(deadline)), Callbacks: cbs, Pages: backend.BatchPageSize}
		c.batches[spec.ID] = bt
		if err := c.bucket(bucketBIdx).Put(idKey(created, spec.ID), nil); err != nil {
			return err
		}
		if err := c.bucket(bucketBDl).Put(idKey(deadline, spec.ID), nil); err != nil {
			return err
		}
		if parent != nil {
			var flags byte
			if parent.m.Complete != 0 {
				flags = kidLate // the parent completed already: the child gates its success only
			} else {
				parent.m.KidsComplete++
			}
			parent.m.KidsSuccess++
			if parent.m.Settled == 0 {
				flags |= kidSettledWait // the parent has not settled: its settled waits for this child
				parent.m.KidsSettled++
			}
			parent.touched = true
			return parent.setKidFlags(spec.ID, flags)
		}
		return nil
	})
	return wrapErr("create batch "+spec.ID, err)
}

// AddToBatch adds jobs to a batch (dense indexes in order of addition) and
// enqueues them. Adds by a job (AddedBy) skip the sequence numbers that job
// has already added.
func (b *Backend) AddToBatch(ctx context.Context, add *backend.BatchAdd) error {
	if add == nil || add.BatchID == "" {
		return fmt.Errorf("joblot/bolt: add to batch: no batch ID")
	}
	if err := validateJobs(add.Jobs); err != nil {
		return err
	}
	if err := backend.CheckBatchJobs(add.Jobs); err != nil {
		return fmt.Errorf("joblot/bolt: add to batch %s: %w", add.BatchID, err)
	}
	if add.Seq < 0 {
		return fmt.Errorf("joblot/bolt: add to batch %s: negative Seq %d", add.BatchID, add.Seq)
	}
	err := b.update(ctx, func(c *txc) error {
		bt, err := c.batch(add.BatchID)
		if err != nil {
			return clean(err)
		}
		if bt == nil {
			return clean(backend.ErrBatchNotFound)
		}
		jobs := add.Jobs
		var key []byte
		var seen uint64
		if add.AddedBy != "" {
			key = append([]byte("a"), add.AddedBy...)
			if v := bt.bk.Get(key); v != nil {
				seen, _ = binary.Uvarint(v)
			}
			// A re-run repeating adds already made succeeds, even once the
			// batch has finished: it adds nothing.
			skip := int(seen) - add.Seq
			if skip >= len(jobs) {
				return nil
			}
			if skip > 0 {
				jobs = jobs[skip:]
			}
		}
		if bt.m.state().Finished() {
			return clean(fmt.Errorf("%w (%s)", backend.ErrBatchFinished, bt.m.state()))
		}
		if key != nil {
			if end := uint64(add.Seq + len(add.Jobs)); end > seen {
				if err := bt.bk.Put(key, binary.AppendUvarint(nil, end)); err != nil {
					return err
				}
			}
		}
		if len(jobs) == 0 {
			return nil
		}
		for _, j := range jobs {
			j.BatchID = add.BatchID
			j.BatchIndex = bt.m.total()
			bt.m.Counters[0]++
			bt.m.Counters[backend.CounterPending]++
			if _, err := c.enqueue(j); err != nil {
				return err
			}
		}
		bt.touched = true
		return nil
	})
	return wrapErr("add to batch "+add.BatchID, err)
}

// CommitBatch marks the batch's population complete; an empty batch fires
// its callbacks at once. Committing again is a no-op.
func (b *Backend) CommitBatch(ctx context.Context, id string) error {
	err := b.update(ctx, func(c *txc) error {
		bt, err := c.batch(id)
		if err != nil {
			return clean(err)
		}
		if bt == nil {
			return clean(backend.ErrBatchNotFound)
		}
		if bt.m.Committed != 0 {
			return nil
		}
		if bt.m.Expired {
			return clean(fmt.Errorf("%w (expired before it was committed)", backend.ErrBatchFinished))
		}
		bt.m.Committed = int64(ms(c.now))
		bt.touched = true
		if err := c.bucket(bucketBDl).Delete(idKey(time.UnixMilli(bt.m.Deadline), id)); err != nil {
			return err
		}
		return c.checkFire(bt)
	})
	return wrapErr("commit batch "+id, err)
}

// CancelBatch marks the batch cancelled: its remaining jobs are skipped when
// fetched, complete still fires, success does not.
func (b *Backend) CancelBatch(ctx context.Context, id string) error {
	err := b.update(ctx, func(c *txc) error {
		bt, err := c.batch(id)
		if err != nil {
			return clean(err)
		}
		if bt == nil {
			return clean(backend.ErrBatchNotFound)
		}
		if bt.m.Cancelled != 0 {
			return nil
		}
		if st := bt.m.state(); st.Finished() {
			return clean(fmt.Errorf("%w (%s)", backend.ErrBatchFinished, st))
		}
		bt.m.Cancelled = int64(ms(c.now))
		bt.touched = true
		return c.checkFire(bt)
	})
	return wrapErr("cancel batch "+id, err)
}

// BatchesCancelled reports which of ids are cancelled.
func (b *Backend) BatchesCancelled(ctx context.Context, ids []string) (map[string]bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make(map[string]bool, len(ids))
	err := b.view(func(tx *bbolt.Tx) error {
		all := tx.Bucket(bucketBatches)
		for _, id := range ids {
			if all == nil {
				out[id] = false
				continue
			}
			m, err := readMeta(all.Bucket([]byte(id)))
			if err != nil {
				return err
			}
			out[id] = m != nil && m.Cancelled != 0
		}
		return nil
	})
	return out, wrapErr("batches cancelled", err)
}

// readMeta reads a batch's meta in any transaction (nil: no batch).
func readMeta(bk *bbolt.Bucket) (*batchMeta, error) {
	if bk == nil {
		return nil, nil
	}
	m := new(batchMeta)
	if err := json.Unmarshal(bk.Get(keyBatchMeta), m); err != nil {
		return nil, fmt.Errorf("unreadable batch meta: %w", err)
	}
	return m, nil
}

// DeleteBatch removes a batch's state. Later events for it change nothing
// and are counted; its parent stops waiting for it.
func (b *Backend) DeleteBatch(ctx context.Context, id string) error {
	err := b.update(ctx, func(c *txc) error {
		bt, err := c.batch(id)
		if err != nil || bt == nil {
			return clean(err)
		}
		return c.deleteBatch(bt)
	})
	return wrapErr("delete batch "+id, err)
}

// deleteBatch removes a batch, its index entries, and its registration in
// its parent.
func (c *txc) deleteBatch(bt *btx) error {
	m := &bt.m
	for _, k := range []struct {
		bucket []byte
		at     int64
	}{{bucketBIdx, m.Created}, {bucketBExp, m.Indexed}, {bucketBDl, m.Deadline}} {
		if err := c.bucket(k.bucket).Delete(idKey(time.UnixMilli(k.at), bt.id)); err != nil {
			return err
		}
	}
	if err := c.bucket(bucketBatches).DeleteBucket([]byte(bt.id)); err != nil {
		return err
	}
	c.batches[bt.id] = nil
	if m.Parent == "" {
		return nil
	}
	p, err := c.batch(m.Parent)
	if err != nil || p == nil {
		return err
	}
	flags, ok := p.kidFlags(bt.id)
	if !ok {
		return nil
	}
	if err := p.bk.Delete(append([]byte("k"), bt.id...)); err != nil {
		return err
	}
	if flags&(kidCompleteDone|kidLate) == 0 {
		p.m.KidsComplete--
	}
	if flags&kidSuccessDone == 0 {
		p.m.KidsSuccess--
	}
	if flags&kidSettledWait != 0 {
		p.m.KidsSettled--
	}
	p.touched = true
	return c.checkFire(p)
}

// BatchStatus returns a batch's status or ErrBatchNotFound.
func (b *Backend) BatchStatus(ctx context.Context, id string) (*backend.BatchStatus, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var st *backend.BatchStatus
	err := b.view(func(tx *bbolt.Tx) error {
		all := tx.Bucket(bucketBatches)
		if all == nil {
			return backend.ErrBatchNotFound
		}
		var err error
		st, err = statusOf(all.Bucket([]byte(id)), id)
		return err
	})
	if err != nil {
		return nil, wrapErr("batch status "+id, err)
	}
	return st, nil
}

func msTime(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v)
}

// statusOf reads a batch's status (O(children + error groups)).
func statusOf(bk *bbolt.Bucket, id string) (*backend.BatchStatus, error) {
	m, err := readMeta(bk)
	if err != nil {
		return nil, err
	}
	if m == nil {
		return nil, backend.ErrBatchNotFound
	}
	c := m.Counters
	st := &backend.BatchStatus{
		ID: id, Description: m.Desc, ParentID: m.Parent, State: m.state(),
		Total: c[0], Pending: c[backend.CounterPending], Failing: c[backend.CounterFailing],
		Succeeded: c[backend.CounterSucceeded], Dead: c[backend.CounterDead], Discarded: c[backend.CounterDiscarded],
		Cancelled: c[backend.CounterCancelled], Removed: c[backend.CounterRemoved],
		CreatedAt: msTime(m.Created), CommittedAt: msTime(m.Committed), CompleteAt: msTime(m.Complete),
		SuccessAt: msTime(m.Success), DeathAt: msTime(m.Death), CancelledAt: msTime(m.Cancelled),
		SettledAt: msTime(m.Settled), ExpiresAt: msTime(m.Expires), OtherErrors: m.Other,
		Callbacks: map[backend.CallbackEvent]*backend.Job{},
	}
	for ev, raw := range m.Callbacks {
		j, err := backend.DecodeJob(raw)
		if err != nil {
			continue
		}
		j.ID, j.CallbackOf, j.CallbackEvent = "", "", "" // the template as given
		st.Callbacks[ev] = j
	}
	cur := bk.Cursor()
	for k, _ := cur.Seek([]byte("k")); k != nil && k[0] == 'k'; k, _ = cur.Next() {
		st.Children = append(st.Children, string(k[1:]))
	}
	for k, v := cur.Seek([]byte("e")); k != nil && k[0] == 'e'; k, v = cur.Next() {
		var g errGroup
		if json.Unmarshal(v, &g) != nil {
			continue
		}
		st.ErrorGroups = append(st.ErrorGroups, backend.ErrorGroup{
			Fingerprint: string(k[1:]), Kind: g.Kind, Class: g.Class, Message: g.Message, JobID: g.JobID,
			Count: g.Count, Error: g.Error, FirstSeen: msTime(g.First), LastSeen: msTime(g.Last),
		})
	}
	slices.SortStableFunc(st.ErrorGroups, func(a, b backend.ErrorGroup) int {
		if a.Count != b.Count {
			if a.Count > b.Count {
				return -1
			}
			return 1
		}
		if !a.FirstSeen.Equal(b.FirstSeen) {
			return a.FirstSeen.Compare(b.FirstSeen)
		}
		return strings.Compare(a.Fingerprint, b.Fingerprint)
	})
	return st, nil
}

// ListBatches pages through batches, newest first.
func (b *Backend) ListBatches(ctx context.Context, opts backend.BatchListOptions) ([]*backend.BatchStatus, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	limit := opts.Limit
	if limit <= 0 {
		limit = 100
	}
	var out []*backend.BatchStatus
	err := b.view(func(tx *bbolt.Tx) error {
		idx, all := tx.Bucket(bucketBIdx), tx.Bucket(bucketBatches)
		if idx == nil || all == nil {
			return nil
		}
		// The index's keys are the creation millisecond then the ID, so
		// the cursor (Before, BeforeID) is a key: read back from the last
		// key before it.
		cur := idx.Cursor()
		var k, bound []byte
		if !opts.Before.IsZero() {
			bound = be64(ms(opts.Before))
			if opts.BeforeID != "" {
				bound = append(bound, opts.BeforeID...)
			}
		}
		if bound == nil {
			k, _ = cur.Last()
		} else if k, _ = cur.Seek(bound); k == nil {
			k, _ = cur.Last()
		} else {
			k, _ = cur.Prev()
		}
		for ; k != nil && len(out) < limit; k, _ = cur.Prev() {
			if bound != nil && bytes.Compare(k, bound) >= 0 {
				continue
			}
			id := string(k[8:])
			st, err := statusOf(all.Bucket([]byte(id)), id)
			if err != nil {
				continue // deleted meanwhile; the janitor prunes the index
			}
			out = append(out, st)
		}
		return nil
	})
	return out, wrapErr("list batches", err)
}
