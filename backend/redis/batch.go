package redis

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/backend"
)

// CreateBatch creates the batch (batch_create.lua, idempotent), indexes it
// in jl:batches and jl:uncommitted, and registers it with its parent.
func (b *Backend) CreateBatch(ctx context.Context, spec *backend.BatchSpec) error {
	cbs, err := spec.CallbackJobs()
	if err != nil {
		return fmt.Errorf("joblot/redis: create batch: %w", err)
	}
	created := spec.CreatedAt
	if created.IsZero() {
		created = b.now()
	}
	deadline := spec.CommitDeadline
	if deadline.IsZero() {
		deadline = created.Add(backend.DefaultCommitTimeout)
	}
	// pages records the page size of the batch's job states (data model
	// 3): batch_ack.lua keeps a batch without it in one unpaged bit string.
	args := []string{ms(created), itoa(backend.DefaultBatchHorizon.Milliseconds()), "deadline", ms(deadline), "pages", itoa(backend.BatchPageSize)}
	if spec.Description != "" {
		args = append(args, "desc", spec.Description)
	}
	if spec.ParentID != "" {
		args = append(args, "parent", spec.ParentID)
	}
	for _, ev := range backend.CallbackEvents {
		if j := cbs[ev]; j != nil {
			args = append(args, "cb:"+string(ev), encode(j))
		}
	}
	createdNow, err := b.run(ctx, b.c, call{s: b.s.batchCreate, keys: b.keys.BatchKeys(spec.ID), args: args}).AsInt64()
	if err != nil {
		return wrap("create batch "+spec.ID, err)
	}
	if spec.ParentID != "" {
		rargs := append([]string{spec.ID, ms(b.now())}, b.ttlArgs()...)
		status, _, err := firedReply(b.run(ctx, b.c, call{s: b.s.batchChild, keys: b.keys.BatchKeys(spec.ParentID), args: rargs}))
		if err == nil && status < 0 {
			err = backend.ErrBatchNotFound
			if status == -2 {
				err = backend.ErrBatchFinished
			}
		}
		if err != nil {
			if createdNow == 1 {
				_ = b.deleteBatchKeys(ctx, spec.ID)
			}
			return fmt.Errorf("joblot/redis: create batch %s under parent %s: %w", spec.ID, spec.ParentID, err)
		}
	}
	if createdNow == 1 {
		for _, r := range b.c.DoMulti(ctx,
			b.c.B().Zadd().Key(b.keys.Batches()).ScoreMember().ScoreMember(float64(created.UnixMilli()), spec.ID).Build(),
			b.c.B().Zadd().Key(b.keys.Uncommitted()).ScoreMember().ScoreMember(float64(deadline.UnixMilli()), spec.ID).Build()) {
			if err := r.Error(); err != nil {
				return wrap("index batch "+spec.ID, err)
			}
		}
	}
	return nil
}

// AddToBatch reserves dense indexes (batch_add.lua, one call per chunk),
// enqueues the jobs, and for an add from inside a job marks the call's
// sequence numbers landed (batch_landed.lua, one call per AddToBatch).
//
// A client's add (no AddedBy) whose enqueue fails accounts the reserved jobs
// as removed, so the batch counts no phantom jobs. An add from inside a job
// (AddedBy set, deterministic IDs) keeps its reservation instead: a repeated
// add skips the landed jobs and enqueues again, at their recorded indexes,
// the jobs reserved but not marked landed. That recovers the jobs when the
// adding process crashed (or the enqueue failed) between reservation and
// enqueue. A crash between the enqueue and the landed mark queues those
// jobs twice: at-least-once delivery allows it, and the batch counts each
// index once. No per-job dedupe key is kept, so such a job costs what a
// client's does: a batch's memory stays O(1) per job.
func (b *Backend) AddToBatch(ctx context.Context, add *backend.BatchAdd) error {
	if add == nil || add.BatchID == "" {
		return errors.New("joblot/redis: add to batch: no batch ID")
	}
	if err := backend.CheckBatchJobs(add.Jobs); err != nil {
		return fmt.Errorf("joblot/redis: add to batch %s: %w", add.BatchID, err)
	}
	landed, err := b.addChunks(ctx, add, b.now())
	if add.AddedBy != "" && landed > add.Seq {
		b.markLanded(ctx, add.BatchID, add.AddedBy, add.Seq, landed)
	}
	return err
}

// addChunks reserves and enqueues add's jobs chunk by chunk. It returns the
// sequence number up to which every job is enqueued (or was found landed).
func (b *Backend) addChunks(ctx context.Context, add *backend.BatchAdd, now time.Time) (int, error) {
	seq := add.Seq
	for rest := add.Jobs; len(rest) > 0; {
		n := min(len(rest), enqueueChunk)
		chunk := rest[:n]
		rest = rest[n:]
		r, err := b.reserve(ctx, add.BatchID, add.AddedBy, seq, n, now)
		if err != nil {
			return seq, err
		}
		jobs := make([]*backend.Job, 0, n)
		for i, j := range chunk[:r.skip] {
			if idx := r.indexes[i]; idx >= 0 {
				j.BatchID, j.BatchIndex = add.BatchID, idx
				jobs = append(jobs, j)
			}
		}
		fresh := chunk[r.skip:]
		for i, j := range fresh {
			j.BatchID, j.BatchIndex = add.BatchID, r.base+int64(i)
		}
		jobs = append(jobs, fresh...)
		// Only a chunk recovering a legacy record (written by a version that
		// enqueued these jobs under once:<id>) goes through the dedupe; its
		// fresh jobs with it, which costs a key each only in that chunk.
		if _, err := b.enqueue(ctx, jobs, r.legacy); err != nil {
			if add.AddedBy == "" {
				b.unreserve(ctx, add.BatchID, fresh, now)
			}
			return seq, err
		}
		seq += n
	}
	return seq, nil
}

// reservation is batch_add.lua's reply for one chunk.
type reservation struct {
	// skip is how many of the chunk's first jobs were reserved before.
	skip int
	// base is the index of the first fresh job (after skip).
	base int64
	// indexes[i] is the recorded index of skipped job i still to enqueue,
	// or -1 when it landed.
	indexes []int64
	// legacy: an index comes from a record written when adds from a job
	// were enqueued under once:<id>; enqueue them under it again.
	legacy bool
}

// reserve runs batch_add.lua for n jobs from sequence number seq.
func (b *Backend) reserve(ctx context.Context, batch, addedBy string, seq, n int, now time.Time) (reservation, error) {
	args := append([]string{ms(now), addedBy, itoa(seq), itoa(n)}, b.ttlArgs()...)
	arr, err := b.run(ctx, b.c, call{s: b.s.batchAdd, keys: b.keys.BatchKeys(batch), args: args}).AsIntSlice()
	if err != nil {
		return reservation{}, wrap("add to batch "+batch, err)
	}
	if len(arr) < 3 {
		if len(arr) == 1 && arr[0] == -1 {
			return reservation{}, fmt.Errorf("joblot/redis: add to batch %s: %w", batch, backend.ErrBatchNotFound)
		}
		if len(arr) == 1 && arr[0] == -2 {
			return reservation{}, fmt.Errorf("joblot/redis: add to batch %s: %w", batch, backend.ErrBatchFinished)
		}
		return reservation{}, fmt.Errorf("joblot/redis: add to batch %s: unexpected reply %v", batch, arr)
	}
	if len(arr) != 3+int(arr[0]) {
		return reservation{}, fmt.Errorf("joblot/redis: add to batch %s: reply of %d values for %d skipped jobs", batch, len(arr), arr[0])
	}
	return reservation{skip: int(arr[0]), base: arr[1], legacy: arr[2] == 1, indexes: arr[3:]}, nil
}

// markLanded runs batch_landed.lua: the jobs of addedBy with sequence
// numbers in [from, to) are enqueued, a repeated add skips them. A failure
// is logged, not returned: the jobs are queued, and the only cost of a
// missing mark is that a re-run of the adding job queues them again, which
// failing its add (and so the job) would make certain.
func (b *Backend) markLanded(ctx context.Context, batch, addedBy string, from, to int) {
	args := []string{addedBy, itoa(from), itoa(to - from)}
	if err := b.run(ctx, b.c, call{s: b.s.batchLanded, keys: b.keys.BatchKeys(batch), args: args}).Error(); err != nil {
		b.log.Warn("joblot: cannot mark added jobs landed; a re-run of the adding job will queue them again",
			"batch", batch, "added_by", addedBy, "from", from, "to", to, "err", err)
	}
}

// unreserve accounts jobs whose enqueue failed as removed.
func (b *Backend) unreserve(ctx context.Context, batch string, jobs []*backend.Job, now time.Time) {
	events := make([]batchJobEvent, len(jobs))
	for i, j := range jobs {
		events[i] = batchJobEvent{batch: batch, index: j.BatchIndex, event: backend.EventRemoved}
	}
	out, err := b.applyBatchEvents(ctx, events, now)
	if err != nil {
		b.log.Error("joblot: cannot account jobs that failed to enqueue as removed", "batch", batch, "jobs", len(jobs), "err", err)
		return
	}
	if err := b.forwardBatches(ctx, out.fired, now); err != nil {
		b.log.Error("joblot: cannot forward callbacks", "batch", batch, "err", err)
	}
}

// CommitBatch marks the population complete and fires what is due.
func (b *Backend) CommitBatch(ctx context.Context, id string) error {
	now := b.now()
	args := append([]string{ms(now)}, b.ttlArgs()...)
	status, fired, err := firedReply(b.run(ctx, b.c, call{s: b.s.batchCommit, keys: b.keys.BatchKeys(id), args: args}))
	if err != nil {
		return wrap("commit batch "+id, err)
	}
	switch status {
	case -1:
		return fmt.Errorf("joblot/redis: commit batch %s: %w", id, backend.ErrBatchNotFound)
	case -2:
		return fmt.Errorf("joblot/redis: commit batch %s: expired before commit: %w", id, backend.ErrBatchFinished)
	}
	if err := b.c.Do(ctx, b.c.B().Zrem().Key(b.keys.Uncommitted()).Member(id).Build()).Error(); err != nil {
		return wrap("commit batch "+id, err)
	}
	return b.forwardFired(ctx, id, fired, now)
}

// CancelBatch marks the batch cancelled.
func (b *Backend) CancelBatch(ctx context.Context, id string) error {
	now := b.now()
	args := append([]string{ms(now)}, b.ttlArgs()...)
	status, fired, err := firedReply(b.run(ctx, b.c, call{s: b.s.batchCancel, keys: b.keys.BatchKeys(id), args: args}))
	if err != nil {
		return wrap("cancel batch "+id, err)
	}
	if status == -1 {
		return fmt.Errorf("joblot/redis: cancel batch %s: %w", id, backend.ErrBatchNotFound)
	}
	return b.forwardFired(ctx, id, fired, now)
}

// BatchesCancelled reports which of ids are cancelled (one pipelined HGET
// per batch).
func (b *Backend) BatchesCancelled(ctx context.Context, ids []string) (map[string]bool, error) {
	out := make(map[string]bool, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	cmds := make(rueidis.Commands, len(ids))
	for i, id := range ids {
		cmds[i] = b.c.B().Hget().Key(b.keys.BMeta(id)).Field("cancelled_at").Build()
	}
	for i, r := range b.c.DoMulti(ctx, cmds...) {
		_, err := r.ToString()
		switch {
		case err == nil:
			out[ids[i]] = true
		case rueidis.IsRedisNil(err):
			out[ids[i]] = false
		default:
			return nil, wrap("read batch "+ids[i], err)
		}
	}
	return out, nil
}

// DeleteBatch removes the batch's keys and index entries, and releases it
// from its parent, which stops waiting for it. The parent's keys are in
// another slot, so the two steps are not atomic: the parent is released
// first. A failure between them leaves a child its parent no longer waits
// for (its later events change nothing there), and a retried DeleteBatch
// finishes the job; the other order would leave a parent waiting for ever
// on a child whose record, naming the parent, is gone.
func (b *Backend) DeleteBatch(ctx context.Context, id string) error {
	parent, err := b.parentOf(ctx, id)
	if err != nil {
		return err
	}
	if parent != "" {
		now := b.now()
		args := append([]string{id, ms(now)}, b.ttlArgs()...)
		status, fired, err := firedReply(b.run(ctx, b.c, call{s: b.s.batchKidGone, keys: b.keys.BatchKeys(parent), args: args}))
		if err != nil {
			return wrap("release batch "+id+" from parent "+parent, err)
		}
		if status == 0 {
			if err := b.forwardFired(ctx, parent, fired, now); err != nil {
				return err
			}
		}
	}
	return b.deleteBatchKeys(ctx, id)
}

func (b *Backend) deleteBatchKeys(ctx context.Context, id string) error {
	for _, r := range b.c.DoMulti(ctx,
		b.c.B().Del().Key(b.keys.BatchKeys(id)...).Build(),
		b.c.B().Zrem().Key(b.keys.Batches()).Member(id).Build(),
		b.c.B().Zrem().Key(b.keys.Uncommitted()).Member(id).Build(),
		b.c.B().Srem().Key(b.keys.Outboxes()).Member(id).Build()) {
		if err := r.Error(); err != nil {
			return wrap("delete batch "+id, err)
		}
	}
	return nil
}

// BatchStatus reads the batch's meta, error groups and children (O(1):
// both are capped or small).
func (b *Backend) BatchStatus(ctx context.Context, id string) (*backend.BatchStatus, error) {
	st, err := b.batchStatuses(ctx, []string{id}, b.now())
	if err != nil {
		return nil, err
	}
	if st[0] == nil {
		return nil, fmt.Errorf("joblot/redis: batch %s: %w", id, backend.ErrBatchNotFound)
	}
	return st[0], nil
}

// batchStatuses reads several batches in one pipeline; a gone batch is nil.
func (b *Backend) batchStatuses(ctx context.Context, ids []string, now time.Time) ([]*backend.BatchStatus, error) {
	cmds := make(rueidis.Commands, 0, 4*len(ids))
	for _, id := range ids {
		k := b.keys.BatchKeys(id)
		cmds = append(cmds,
			b.c.B().Hgetall().Key(k[0]).Build(),
			b.c.B().Hgetall().Key(k[2]).Build(),
			b.c.B().Smembers().Key(k[4]).Build(),
			b.c.B().Pttl().Key(k[0]).Build())
	}
	res := b.c.DoMulti(ctx, cmds...)
	out := make([]*backend.BatchStatus, len(ids))
	for i, id := range ids {
		meta, err := res[4*i].AsStrMap()
		if err != nil {
			return nil, wrap("read batch "+id, err)
		}
		if len(meta) == 0 {
			continue
		}
		errs, err := res[4*i+1].AsStrMap()
		if err != nil {
			return nil, wrap("read batch errors "+id, err)
		}
		kids, err := res[4*i+2].AsStrSlice()
		if err != nil {
			return nil, wrap("read batch children "+id, err)
		}
		pttl, _ := res[4*i+3].AsInt64()
		out[i] = statusOf(id, meta, errs, kids, pttl, now)
	}
	return out, nil
}

func statusOf(id string, meta, errs map[string]string, kids []string, pttl int64, now time.Time) *backend.BatchStatus {
	num := func(k string) int64 { n, _ := strconv.ParseInt(meta[k], 10, 64); return n }
	tm := func(k string) time.Time {
		if n := num(k); n > 0 {
			return time.UnixMilli(n)
		}
		return time.Time{}
	}
	s := &backend.BatchStatus{
		ID: id, Description: meta["desc"], ParentID: meta["parent"],
		Total: num("total"), Pending: num("pending"), Failing: num("failing"), Succeeded: num("succeeded"),
		Dead: num("dead"), Discarded: num("discarded"), Cancelled: num("cancelled"), Removed: num("removed"),
		CreatedAt: tm("created"), CommittedAt: tm("committed_at"), CompleteAt: tm("complete_at"),
		SuccessAt: tm("success_at"), DeathAt: tm("death_at"), CancelledAt: tm("cancelled_at"),
		SettledAt: tm("settled_at"),
	}
	if pttl > 0 {
		s.ExpiresAt = now.Add(time.Duration(pttl) * time.Millisecond)
	}
	sort.Strings(kids)
	s.Children = kids
	deadline := tm("deadline")
	switch {
	case meta["expired"] != "" || (s.CommittedAt.IsZero() && !deadline.IsZero() && now.After(deadline)):
		s.State = backend.BatchExpired
	case !s.CancelledAt.IsZero():
		s.State = backend.BatchCancelled
	case !s.SuccessAt.IsZero():
		s.State = backend.BatchSucceeded
	case !s.CompleteAt.IsZero():
		s.State = backend.BatchComplete
	case !s.CommittedAt.IsZero():
		s.State = backend.BatchRunning
	default:
		s.State = backend.BatchPopulating
	}
	if !s.SuccessAt.IsZero() && s.State == backend.BatchCancelled {
		s.State = backend.BatchSucceeded // everything had succeeded before the cancel
	}
	for k, v := range errs {
		fp, ok := strings.CutPrefix(k, "c:")
		if !ok {
			continue
		}
		g := backend.ErrorGroup{Fingerprint: fp}
		g.Count, _ = strconv.ParseInt(v, 10, 64)
		parts := strings.SplitN(errs["i:"+fp], "\n", 5)
		if len(parts) == 5 {
			if n, err := strconv.ParseInt(parts[0], 10, 64); err == nil {
				g.FirstSeen = time.UnixMilli(n)
			}
			g.JobID, g.Kind, g.Class, g.Message = parts[1], parts[2], parts[3], parts[4]
		}
		g.Error, _ = strconv.ParseInt(errs["e:"+fp], 10, 64)
		if n, err := strconv.ParseInt(errs["l:"+fp], 10, 64); err == nil {
			g.LastSeen = time.UnixMilli(n)
		}
		s.ErrorGroups = append(s.ErrorGroups, g)
	}
	sort.Slice(s.ErrorGroups, func(i, j int) bool {
		a, c := s.ErrorGroups[i], s.ErrorGroups[j]
		if a.Count != c.Count {
			return a.Count > c.Count
		}
		return a.Fingerprint < c.Fingerprint
	})
	s.OtherErrors, _ = strconv.ParseInt(errs["other"], 10, 64)
	for _, ev := range backend.CallbackEvents {
		p := meta["cb:"+string(ev)]
		if p == "" {
			continue
		}
		j, err := backend.DecodeJob([]byte(p))
		if err != nil {
			continue
		}
		j.ID, j.CallbackOf, j.CallbackEvent = "", "", ""
		if s.Callbacks == nil {
			s.Callbacks = map[backend.CallbackEvent]*backend.Job{}
		}
		s.Callbacks[ev] = j
	}
	return s
}

// ListBatches pages through jl:batches newest first (ties in descending ID
// order, as ZREVRANGEBYSCORE gives them), pruning ids whose batch is gone.
// A keyset cursor (Before, BeforeID) reads from Before inclusive and skips
// the batches of that millisecond the previous page already returned.
func (b *Backend) ListBatches(ctx context.Context, opts backend.BatchListOptions) ([]*backend.BatchStatus, error) {
	limit := opts.Limit
	if limit <= 0 {
		limit = 100
	}
	now := b.now()
	max := "+inf"
	cursorAt := int64(-1) // the cursor's millisecond, when it has an ID
	if !opts.Before.IsZero() {
		if opts.BeforeID == "" {
			max = "(" + ms(opts.Before)
		} else {
			max, cursorAt = ms(opts.Before), opts.Before.UnixMilli()
		}
	}
	var out []*backend.BatchStatus
	offset := int64(0)
	for len(out) < limit {
		entries, err := b.c.Do(ctx, b.c.B().Zrevrangebyscore().Key(b.keys.Batches()).Max(max).Min("-inf").Withscores().Limit(offset, int64(limit-len(out))).Build()).AsZScores()
		if err != nil {
			return nil, wrap("list batches", err)
		}
		if len(entries) == 0 {
			break
		}
		ids := make([]string, 0, len(entries))
		for _, e := range entries {
			if int64(e.Score) == cursorAt && e.Member >= opts.BeforeID {
				offset++ // on the previous page (or the cursor itself)
				continue
			}
			ids = append(ids, e.Member)
		}
		if len(ids) == 0 {
			continue
		}
		sts, err := b.batchStatuses(ctx, ids, now)
		if err != nil {
			return nil, err
		}
		var gone []string
		for i, st := range sts {
			if st == nil {
				gone = append(gone, ids[i])
				continue
			}
			out = append(out, st)
		}
		if len(gone) > 0 {
			if err := b.c.Do(ctx, b.c.B().Zrem().Key(b.keys.Batches()).Member(gone...).Build()).Error(); err != nil {
				return nil, wrap("prune batch index", err)
			}
		}
		offset += int64(len(ids) - len(gone))
	}
	return out, nil
}
