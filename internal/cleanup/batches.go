package cleanup

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/keyspace"
	"github.com/joblot/joblot/internal/memreport"
)

// Batch meta fields this target relies on (backend/redis writes them; times
// are unix milliseconds): success_at, cancelled_at and expired mark a
// finished batch (any one set), dead counts its dead jobs. The backend
// gives every batch key a TTL on every batch event (success: the linger;
// holding dead jobs: the dead age cap; else the horizon), so a finished
// batch normally expires by itself; cleanup only removes one whose meta has
// no TTL at all (lost to a PERSIST, a restore, an older joblot) and whose
// TTL would have lapsed by now, counted from when it finished.
var finishFields = []string{"success_at", "cancelled_at", "expired"}

//go:embed batch_unlink.lua
var batchUnlinkSrc string

var batchUnlink = rueidis.NewLuaScript(batchUnlinkSrc)

// batchID returns the id of a key "{jl:b:<id>}:<suffix>".
func batchID(k string) (string, bool) {
	rest, ok := strings.CutPrefix(k, "{jl:b:")
	if !ok {
		return "", false
	}
	end := strings.IndexByte(rest, '}')
	if end <= 0 || !strings.HasPrefix(rest[end+1:], ":") {
		return "", false
	}
	return rest[:end], true
}

func isBatchKey(k string) bool { _, ok := batchID(k); return ok }

func batchMeta(id string) string   { return "{jl:b:" + id + "}:meta" }
func batchOutbox(id string) string { return "{jl:b:" + id + "}:outbox" }

// verdict is what cleanup decided about one batch.
type verdict struct {
	mode         string // "orphan", "finished", or "" to keep
	field, value string // for "finished": the finish field and its value
	reason       string // for keeping, when worth reporting
}

// judge decides from the meta's finish fields, dead count and PTTL.
func (r *run) judge(fields []string, dead string, pttl int64) verdict {
	if pttl == -2 {
		return verdict{mode: "orphan"}
	}
	if pttl != -1 {
		return verdict{} // the backend's TTL will expire it
	}
	for i, f := range finishFields {
		v := fields[i]
		if v == "" {
			continue
		}
		at, err := strconv.ParseInt(v, 10, 64)
		if err != nil || at <= 0 {
			return verdict{reason: fmt.Sprintf("finished batch without TTL has an unreadable %s %q", f, v)}
		}
		ttl := r.opts.BatchHorizon
		if f == "success_at" {
			ttl = r.opts.SuccessLinger
		} else if n, _ := strconv.ParseInt(dead, 10, 64); n > 0 {
			ttl = r.deadMaxAge()
		}
		if time.UnixMilli(at).Add(ttl).After(r.opts.Now) {
			return verdict{}
		}
		return verdict{mode: "finished", field: f, value: v}
	}
	return verdict{} // not finished: the backend's horizon applies once it has a TTL again
}

func (r *run) deadMaxAge() time.Duration {
	if r.opts.DeadMaxAge > 0 {
		return r.opts.DeadMaxAge
	}
	return backend.DefaultDeadMaxAge
}

// batches judges the batches whose keys are in this SCAN batch and removes
// those keys of the removable ones. A batch's other keys are judged when
// SCAN returns them (its meta gone by then, they are orphans). Only keys
// named and typed as a joblot batch's are candidates: a key with another
// suffix, or of another type than its suffix's, is kept and reported, and
// a batch whose meta or outbox is of another type is not judged at all.
func (r *run) batches(ctx context.Context, keys []string) error {
	var ids []string
	group := map[string][]string{}
	for _, k := range keys {
		if _, ok := batchKeyType(k); !ok {
			r.kept(Batches, Finding{Key: k, Reason: "named like a joblot batch key, but no batch key has its suffix"})
			continue
		}
		id, _ := batchID(k)
		if _, seen := group[id]; !seen {
			ids = append(ids, id)
		}
		group[id] = append(group[id], k)
	}
	const perID, perKey = 3, 2
	cmds := make(rueidis.Commands, 0, perID*len(ids)+perKey*len(keys))
	for _, id := range ids {
		cmds = append(cmds,
			r.c.B().Hmget().Key(batchMeta(id)).Field(append(finishFields, "dead")...).Build(),
			r.c.B().Pttl().Key(batchMeta(id)).Build(),
			r.c.B().Llen().Key(batchOutbox(id)).Build())
	}
	var candidates []string
	for _, id := range ids {
		candidates = append(candidates, group[id]...)
	}
	for _, k := range candidates {
		cmds = append(cmds,
			r.c.B().MemoryUsage().Key(k).Samples(memreport.DefaultElementSamples).Build(),
			r.c.B().Type().Key(k).Build())
	}
	res := r.c.DoMulti(ctx, cmds...)
	size := map[string]int64{}
	typeOK := map[string]bool{}
	for i, k := range candidates {
		at := perID*len(ids) + perKey*i
		n, err := res[at].AsInt64()
		if err != nil && !rueidis.IsRedisNil(err) {
			return fmt.Errorf("MEMORY USAGE %q: %w", k, err)
		}
		size[k] = n
		typ, err := res[at+1].ToString()
		if err != nil {
			return fmt.Errorf("TYPE %q: %w", k, err)
		}
		want, _ := batchKeyType(k)
		typeOK[k] = typ == want
		if typ != want && typ != "none" {
			r.kept(Batches, Finding{Key: k, Reason: "named like a joblot batch key but is a " + typ + ", not a " + want})
		}
	}
	for i, id := range ids {
		vals, err := res[perID*i].ToArray()
		if isWrongType(err) {
			r.kept(Batches, Finding{Key: batchMeta(id), Reason: "named like a joblot batch meta but is not a hash: its batch is not judged"})
			continue
		}
		if err != nil {
			return fmt.Errorf("HMGET %q: %w", batchMeta(id), err)
		}
		fields := make([]string, len(vals))
		for j := range vals {
			fields[j], _ = vals[j].ToString() // nil stays ""
		}
		pttl, err := res[perID*i+1].AsInt64()
		if err != nil {
			return fmt.Errorf("PTTL %q: %w", batchMeta(id), err)
		}
		v := r.judge(fields[:len(finishFields)], fields[len(finishFields)], pttl)
		if v.mode == "" {
			if v.reason != "" {
				r.kept(Batches, Finding{Key: batchMeta(id), Reason: v.reason})
			}
			continue
		}
		n, err := res[perID*i+2].AsInt64()
		if isWrongType(err) {
			r.kept(Batches, Finding{Key: batchOutbox(id), Reason: "named like a joblot batch outbox but is not a list: its batch is not judged"})
			continue
		}
		if err != nil || n > 0 {
			r.kept(Batches, Finding{Key: batchOutbox(id), Count: n,
				Reason: "batch is " + v.mode + " but its outbox holds callbacks not yet forwarded"})
			continue
		}
		if v.mode == "finished" && !r.opts.Apply {
			// A dry run removes nothing, so the index pruning that
			// follows must be told which batches would be gone.
			r.wouldGo[id] = true
		}
		var doomed, types []string
		var bytes int64
		for _, k := range group[id] {
			if typeOK[k] {
				want, _ := batchKeyType(k)
				doomed = append(doomed, k)
				types = append(types, want)
				bytes += size[k]
			}
		}
		if len(doomed) == 0 {
			continue
		}
		if !r.opts.Apply {
			r.removed(Batches, doomed, int64(len(doomed)), bytes)
			continue
		}
		if err := r.limit.wait(ctx, len(doomed)); err != nil {
			return err
		}
		n, err = batchUnlink.Exec(ctx, r.c, append([]string{batchMeta(id), batchOutbox(id)}, doomed...),
			append([]string{v.mode, v.field, v.value}, types...)).AsInt64()
		if err != nil {
			return fmt.Errorf("batch %s: %w", id, err)
		}
		switch n {
		case -1: // changed meanwhile: keep
		case -2:
			r.kept(Batches, Finding{Key: batchOutbox(id), Reason: "batch is " + v.mode + " but its outbox holds callbacks not yet forwarded"})
		case -3:
			r.kept(Batches, Finding{Key: batchMeta(id), Reason: "a key of this batch changed type during the cleanup: the batch is kept"})
		default:
			r.removed(Batches, doomed, n, bytes)
		}
	}
	return nil
}

// pruneBatchIndex removes jl:batches entries older than IndexGrace whose
// meta is gone, ZSCANning the index in bounded steps.
func (r *run) pruneBatchIndex(ctx context.Context) error {
	const index = "jl:batches"
	cutoff := float64(r.opts.Now.Add(-r.opts.IndexGrace).UnixMilli())
	var cursor uint64
	for {
		entry, err := r.c.Do(ctx, r.c.B().Zscan().Key(index).Cursor(cursor).Count(int64(r.opts.ScanCount)).Build()).AsScanEntry()
		if isWrongType(err) {
			r.kept(Batches, Finding{Key: index, Reason: "not a sorted set, so not joblot's batch index: not pruned"})
			return nil
		}
		if err != nil {
			return fmt.Errorf("cleanup: ZSCAN %s: %w", index, err)
		}
		var ids []string
		for i := 0; i+1 < len(entry.Elements); i += 2 {
			score, err := strconv.ParseFloat(entry.Elements[i+1], 64)
			if err == nil && score < cutoff {
				ids = append(ids, entry.Elements[i])
			}
		}
		if len(ids) > 0 {
			cmds := make(rueidis.Commands, len(ids))
			for i, id := range ids {
				cmds[i] = r.c.B().Exists().Key(batchMeta(id)).Build()
			}
			var gone []string
			for i, res := range r.c.DoMulti(ctx, cmds...) {
				n, err := res.AsInt64()
				if err != nil {
					return fmt.Errorf("cleanup: EXISTS %q: %w", batchMeta(ids[i]), err)
				}
				if n == 0 || r.wouldGo[ids[i]] {
					gone = append(gone, ids[i])
				}
			}
			if err := r.pruneIndexEntries(ctx, index, gone); err != nil {
				return err
			}
		}
		if cursor = entry.Cursor; cursor == 0 {
			return nil
		}
		if err := keyspace.Pause(ctx, r.opts.Pause); err != nil {
			return err
		}
	}
}

func (r *run) pruneIndexEntries(ctx context.Context, index string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	tr := r.target(Batches)
	// ~ 100 B per zset entry of a short id (skiplist node + dict entry).
	const entryBytes = 100
	if !r.opts.Apply {
		tr.Members += int64(len(ids))
		tr.Bytes += entryBytes * int64(len(ids))
		r.prog.Members += int64(len(ids))
		return nil
	}
	if err := r.limit.wait(ctx, len(ids)); err != nil {
		return err
	}
	n, err := r.c.Do(ctx, r.c.B().Zrem().Key(index).Member(ids...).Build()).AsInt64()
	if err != nil {
		return fmt.Errorf("cleanup: ZREM %s: %w", index, err)
	}
	tr.Members += n
	tr.Bytes += entryBytes * n
	r.prog.Members += n
	r.progress()
	return nil
}
