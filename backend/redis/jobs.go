package redis

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/backend"
)

// listPage is how many stored entries one read brings in while listing or
// searching: sets are paged, never loaded whole.
const listPage = 500

func (b *Backend) setKey(set backend.JobSet, q string) (string, error) {
	switch set {
	case backend.SetQueued:
		return b.keys.QJobs(q), nil
	case backend.SetScheduled:
		return b.keys.QSched(q), nil
	case backend.SetRetry:
		return b.keys.QRetry(q), nil
	case backend.SetDead:
		return b.keys.QDead(q), nil
	}
	return "", fmt.Errorf("joblot/redis: unknown job set %q", set)
}

// scopeQueues returns [q] or every known queue, sorted.
func (b *Backend) scopeQueues(ctx context.Context, q string) ([]string, error) {
	if q != "" {
		return []string{q}, nil
	}
	qs, err := b.c.Do(ctx, b.c.B().Smembers().Key(b.keys.Queues()).Build()).AsStrSlice()
	if err != nil {
		return nil, wrap("list queues", err)
	}
	sort.Strings(qs)
	return qs, nil
}

// readRange reads entries [start, start+n) of a set in its listing order:
// oldest first for queues, soonest first for scheduled and retry, newest
// first for dead.
func (b *Backend) readRange(ctx context.Context, set backend.JobSet, key string, start, n int64) ([]string, error) {
	var cmd rueidis.Completed
	stop := start + n - 1
	switch set {
	case backend.SetQueued:
		cmd = b.c.B().Lrange().Key(key).Start(start).Stop(stop).Build()
	case backend.SetDead:
		cmd = b.c.B().Zrange().Key(key).Min(itoa(start)).Max(itoa(stop)).Rev().Build()
	default:
		cmd = b.c.B().Zrange().Key(key).Min(itoa(start)).Max(itoa(stop)).Build()
	}
	return b.c.Do(ctx, cmd).AsStrSlice()
}

// ListJobs pages through one set, reading listPage entries at a time and
// filtering the decoded payloads in Go, examining at most f.Budget entries.
//
// Cursors of the scheduled, retry and dead sets are positions, not offsets:
// "z<score>:<member prefix, base64>:<queue>" continues after the last listed
// entry (zpage.lua), so acting on listed jobs (retrying, deleting) between
// pages never makes the listing skip one, and an entry inserted before the
// cursor is not listed again. The queued list's cursor, "<offset>:<queue>",
// is an offset from the head: jobs leaving the list ahead of it (fetched,
// deleted, retried) make the next page skip as many, and jobs pushed at the
// head (requeued, recovered) make it repeat as many. To act on every queued
// job, use ClearQueue, or list again from the start until nothing is left.
func (b *Backend) ListJobs(ctx context.Context, f backend.JobFilter) (*backend.JobPage, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	queues, err := b.scopeQueues(ctx, f.Queue)
	if err != nil {
		return nil, err
	}
	qi := 0
	var at position
	if f.Cursor != "" {
		q, pos, err := parseCursor(f.Cursor, f.Set)
		if err != nil {
			return nil, err
		}
		qi = sort.SearchStrings(queues, q)
		if qi < len(queues) && queues[qi] == q {
			at = pos
		}
	}
	filtered := f.BatchID != "" || f.Kind != "" || f.ErrorFingerprint != "" || f.ErrorContains != ""
	page := &backend.JobPage{}
	budget := f.Budget(limit)
	for ; qi < len(queues); qi, at = qi+1, (position{}) {
		q := queues[qi]
		key, err := b.setKey(f.Set, q)
		if err != nil {
			return nil, err
		}
		for {
			entries, err := b.readFrom(ctx, f.Set, key, at, listPage)
			if err != nil {
				return nil, wrap("list jobs", err)
			}
			jobs, err := b.decodeEntries(ctx, f.Set, q, entries)
			if err != nil {
				return nil, wrap("list jobs", err)
			}
			for i, e := range entries {
				at = at.next(e)
				budget--
				j := jobs[i]
				match := true
				if j == nil {
					match = !filtered
					j = &backend.Job{ID: backend.MalformedJobID([]byte(e.member)), Queue: q}
				} else {
					match = f.Matches(j)
				}
				if match {
					page.Jobs = append(page.Jobs, j)
				}
				if len(page.Jobs) == limit || budget <= 0 {
					page.Next = at.cursor(q)
					page.Partial = len(page.Jobs) < limit
					return page, nil
				}
			}
			if len(entries) < listPage {
				break
			}
		}
	}
	return page, nil
}

// entry is one stored entry of a set; score is "" for the queued list.
type entry struct{ member, score string }

// decodeEntries decodes entries of queue q's set, nil for one that is not
// a job. The dead set's entries get the shared groups they refer to, with
// their messages (backend.EncodeDead), with one HMGET on q's stats.
func (b *Backend) decodeEntries(ctx context.Context, set backend.JobSet, q string, es []entry) ([]*backend.Job, error) {
	out := make([]*backend.Job, len(es))
	if set != backend.SetDead {
		for i, e := range es {
			out[i], _ = backend.DecodeJob([]byte(e.member))
		}
		return out, nil
	}
	type group struct{ group, message []byte }
	groups := map[string]*group{}
	var fields []string
	for _, e := range es {
		if ref := backend.DeadDetailsRef([]byte(e.member)); ref != "" && groups[ref] == nil {
			groups[ref] = &group{}
			fields = append(fields, "e:"+ref, "m:"+ref)
		}
	}
	if len(fields) > 0 {
		vals, err := b.c.Do(ctx, b.c.B().Hmget().Key(b.keys.QStats(q)).Field(fields...).Build()).ToArray()
		if err != nil {
			return nil, err
		}
		for i := 0; i+1 < len(vals) && i+1 < len(fields); i += 2 {
			g := groups[fields[i][2:]]
			if s, err := vals[i].ToString(); err == nil {
				g.group = []byte(s)
			}
			if s, err := vals[i+1].ToString(); err == nil {
				g.message = []byte(s)
			}
		}
	}
	for i, e := range es {
		score, _ := strconv.ParseFloat(e.score, 64)
		m := []byte(e.member)
		var g group
		if p := groups[backend.DeadDetailsRef(m)]; p != nil {
			g = *p
		}
		out[i], _ = backend.DecodeDead(m, g.group, g.message, q, int64(score))
	}
	return out, nil
}

// position is where a listing of one queue's set stands: an offset in the
// queued list, or after (score, member prefix) in a sorted set. The zero
// position is the start.
type position struct {
	offset int64
	score  string
	prefix string
}

// next returns the position after e, which was read at p.
func (p position) next(e entry) position {
	if e.score == "" {
		return position{offset: p.offset + 1}
	}
	return position{score: e.score, prefix: memberPrefix(e.member)}
}

func (p position) cursor(q string) string {
	if p.score == "" {
		return itoa(p.offset) + ":" + q
	}
	return "z" + p.score + ":" + base64.RawURLEncoding.EncodeToString([]byte(p.prefix)) + ":" + q
}

// parseCursor returns a cursor's queue and position.
func parseCursor(c string, set backend.JobSet) (string, position, error) {
	bad := fmt.Errorf("joblot/redis: bad cursor %q", c)
	if rest, ok := strings.CutPrefix(c, "z"); ok {
		score, rest, ok1 := strings.Cut(rest, ":")
		enc, q, ok2 := strings.Cut(rest, ":")
		prefix, err := base64.RawURLEncoding.DecodeString(enc)
		if _, perr := strconv.ParseFloat(score, 64); !ok1 || !ok2 || err != nil || perr != nil || set == backend.SetQueued {
			return "", position{}, bad
		}
		return q, position{score: score, prefix: string(prefix)}, nil
	}
	off, q, ok := strings.Cut(c, ":")
	n, err := strconv.ParseInt(off, 10, 64)
	if !ok || err != nil || n < 0 || set != backend.SetQueued {
		return "", position{}, bad
	}
	return q, position{offset: n}, nil
}

// memberPrefix is what a cursor keeps of a sorted set member to continue
// after it: the encoded header up to the job ID (a dead entry's up to its
// ID: backend.DeadEntryPrefix; so the cursor stays small
// and members of other jobs compare as they would to the whole member), or
// the first 64 bytes of a payload that is not a job.
func memberPrefix(m string) string {
	if p, ok := backend.DeadEntryPrefix([]byte(m)); ok {
		return string(p)
	}
	if j, err := backend.DecodeJob([]byte(m)); err == nil {
		if h := (&backend.Job{ID: j.ID}).AppendBinary(nil); strings.HasPrefix(m, string(h)) {
			return string(h)
		}
	}
	return m[:min(len(m), 64)]
}

// readFrom reads up to n entries of a set from position at, in listing
// order: oldest first for queues, soonest first for scheduled and retry,
// newest first for dead.
func (b *Backend) readFrom(ctx context.Context, set backend.JobSet, key string, at position, n int64) ([]entry, error) {
	if set == backend.SetQueued {
		ms, err := b.readRange(ctx, set, key, at.offset, n)
		out := make([]entry, len(ms))
		for i, m := range ms {
			out[i] = entry{member: m}
		}
		return out, err
	}
	rev := "0"
	if set == backend.SetDead {
		rev = "1"
	}
	flat, err := b.run(ctx, b.c, call{s: b.s.zpage, keys: []string{key}, args: []string{rev, at.score, at.prefix, itoa(n)}}).AsStrSlice()
	if err != nil {
		return nil, err
	}
	out := make([]entry, 0, len(flat)/2)
	for i := 0; i+1 < len(flat); i += 2 {
		out = append(out, entry{member: flat[i], score: flat[i+1]})
	}
	return out, nil
}

// found is a stored entry matched by job ID.
type found struct {
	member string
	job    *backend.Job // nil when malformed
}

// findByID searches a set of queue q for entries with the wanted IDs (by
// pages: ZSCAN for sorted sets, LRANGE for the queue list).
func (b *Backend) findByID(ctx context.Context, set backend.JobSet, q string, want map[string]bool) ([]found, error) {
	key, err := b.setKey(set, q)
	if err != nil {
		return nil, err
	}
	var out []found
	left := len(want)
	consider := func(m string) {
		j, err := backend.DecodeJob([]byte(m))
		id := backend.MalformedJobID([]byte(m))
		if err == nil {
			id = j.ID
		} else {
			j = nil
		}
		if want[id] {
			out = append(out, found{member: m, job: j})
			left--
		}
	}
	if set == backend.SetQueued {
		for off := int64(0); left > 0; off += listPage {
			entries, err := b.readRange(ctx, set, key, off, listPage)
			if err != nil {
				return nil, wrap("search "+key, err)
			}
			for _, e := range entries {
				consider(e)
			}
			if len(entries) < listPage {
				break
			}
		}
		return out, nil
	}
	var dead []entry // the dead set's hits, decoded with their details at the end
	cursor := uint64(0)
	for left > 0 {
		scan, err := b.c.Do(ctx, b.c.B().Zscan().Key(key).Cursor(cursor).Count(listPage).Build()).AsScanEntry()
		if err != nil {
			return nil, wrap("search "+key, err)
		}
		for i := 0; i+1 < len(scan.Elements); i += 2 {
			if set != backend.SetDead {
				consider(scan.Elements[i])
			} else if m := scan.Elements[i]; want[backend.DeadEntryID([]byte(m))] {
				dead = append(dead, entry{member: m, score: scan.Elements[i+1]})
				left--
			}
		}
		cursor = scan.Cursor
		if cursor == 0 {
			break
		}
	}
	if len(dead) > 0 {
		jobs, err := b.decodeEntries(ctx, set, q, dead)
		if err != nil {
			return nil, wrap("search "+key, err)
		}
		for i, e := range dead {
			out = append(out, found{member: e.member, job: jobs[i]})
		}
	}
	return out, nil
}

func idSet(ids []string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// RetryJobs implements backend.Backend (see retryJobs).
func (b *Backend) RetryJobs(ctx context.Context, p backend.RetryJobsParams) (backend.RetryJobsResult, error) {
	n, err := b.retryJobs(ctx, p.Set, p.Queue, p.IDs)
	return backend.RetryJobsResult{Retried: n}, err
}

// retryJobs moves jobs of the scheduled, retry or dead set to the tail of
// their queue (dead ones marked ManualRetry) with retry_jobs.lua.
func (b *Backend) retryJobs(ctx context.Context, set backend.JobSet, queue string, ids []string) (int, error) {
	if set == backend.SetQueued {
		return 0, errors.New("joblot/redis: retry: jobs in a queue are already waiting to run")
	}
	if len(ids) == 0 {
		return 0, nil
	}
	queues, err := b.scopeQueues(ctx, queue)
	if err != nil {
		return 0, err
	}
	want := idSet(ids)
	dead := "0"
	if set == backend.SetDead {
		dead = "1"
	}
	moved := 0
	for _, q := range queues {
		hits, err := b.findByID(ctx, set, q, want)
		if err != nil {
			return moved, err
		}
		for len(hits) > 0 {
			n := min(len(hits), ackChunk)
			args := []string{dead}
			for _, h := range hits[:n] {
				p := h.member
				if h.job != nil {
					j := h.job
					j.RunAt = time.Time{}
					if set == backend.SetDead {
						j.ManualRetry = true
					}
					p = encode(j)
				}
				args = append(args, h.member, p)
			}
			hits = hits[n:]
			key, _ := b.setKey(set, q)
			got, err := b.run(ctx, b.c, call{s: b.s.retryJobs, keys: []string{key, b.keys.QJobs(q), b.keys.QStats(q), b.keys.QBell(q)}, args: args}).AsInt64()
			if err != nil {
				return moved, wrap("retry jobs", err)
			}
			moved += int(got)
		}
	}
	return moved, nil
}

// DeleteJobs implements backend.Backend (see deleteJobs).
func (b *Backend) DeleteJobs(ctx context.Context, p backend.DeleteJobsParams) (backend.DeleteJobsResult, error) {
	n, err := b.deleteJobs(ctx, p.Set, p.Queue, p.IDs)
	return backend.DeleteJobsResult{Deleted: n}, err
}

// deleteJobs removes jobs from a set with delete_jobs.lua; the batch jobs
// among them are then accounted as removed.
func (b *Backend) deleteJobs(ctx context.Context, set backend.JobSet, queue string, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	queues, err := b.scopeQueues(ctx, queue)
	if err != nil {
		return 0, err
	}
	kind := "z"
	switch set {
	case backend.SetQueued:
		kind = "l"
	case backend.SetDead:
		kind = "d"
	}
	want := idSet(ids)
	deleted := 0
	var events []batchJobEvent
	for _, q := range queues {
		hits, err := b.findByID(ctx, set, q, want)
		if err != nil {
			return deleted, err
		}
		for len(hits) > 0 {
			n := min(len(hits), ackChunk)
			args := []string{kind}
			for _, h := range hits[:n] {
				ukey, id := "", ""
				if h.job != nil && set != backend.SetDead { // a dead job let go of its lock when it died
					ukey, id = h.job.UniqueKey(), h.job.ID
				}
				args = append(args, h.member, ukey, id)
			}
			key, _ := b.setKey(set, q)
			flags, err := b.run(ctx, b.c, call{s: b.s.deleteJobs, keys: []string{key, b.keys.QStats(q), b.keys.QUniq(q)}, args: args}).AsIntSlice()
			if err != nil {
				return deleted, wrap("delete jobs", err)
			}
			for i, ok := range flags {
				if ok != 1 {
					continue
				}
				deleted++
				if j := hits[i].job; j != nil && j.BatchID != "" && j.CallbackOf == "" {
					events = append(events, batchJobEvent{batch: j.BatchID, index: j.BatchIndex, event: backend.EventRemoved})
				}
			}
			hits = hits[n:]
		}
	}
	now := b.now()
	out, err := b.applyBatchEvents(ctx, events, now)
	if err != nil {
		return deleted, err
	}
	if out.expired > 0 {
		if err := b.countExpired(ctx, out.expired); err != nil {
			return deleted, err
		}
	}
	return deleted, b.forwardBatches(ctx, out.fired, now)
}
