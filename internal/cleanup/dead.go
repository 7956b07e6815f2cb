package cleanup

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/internal/deadtrim"
	"github.com/joblot/joblot/internal/keyspace"
	"github.com/joblot/joblot/internal/memreport"
	"github.com/joblot/joblot/internal/rediskeys"
)

// deadTrim is the backend's dead-set trim (package deadtrim): cleanup
// applies an operator's caps with the same script the backend applies
// its Limits with.
var deadTrim = rueidis.NewLuaScript(deadtrim.Source())

// deadQueue returns the queue of a dead set key "{jl:q:<q>}:dead".
func (r *run) deadQueue(k string) (string, bool) {
	q, suffix, ok := r.opts.Keys.ParseQueueKey(k)
	return q, ok && suffix == rediskeys.SuffixDead
}

func (r *run) isDeadKey(k string) bool { _, ok := r.deadQueue(k); return ok }

// dead trims each dead set to the caps, a chunk per call at the rate
// limit. Each call recomputes what is beyond the caps, so an interrupted
// trim resumes where it stopped, and jobs dying meanwhile (newest) are
// never the ones removed.
func (r *run) dead(ctx context.Context, keys []string) error {
	caps := deadtrim.Caps{MaxJobs: -1, MaxBytes: -1, Limit: int64(r.opts.ChunkSize), DryRun: !r.opts.Apply}
	if r.opts.DeadMaxJobs > 0 {
		caps.MaxJobs = r.opts.DeadMaxJobs
	}
	if r.opts.DeadMaxAge > 0 {
		caps.Cutoff = r.opts.Now.Add(-r.opts.DeadMaxAge)
	}
	tr := r.target(DeadJobs)
	for _, k := range keys {
		q, _ := r.deadQueue(k)
		tkeys := deadtrim.Keys(r.opts.Keys, q)
		stats := tkeys[1]
		// A dead set is a zset and its queue's stats a hash (or none):
		// anything else is not joblot's to trim.
		types := r.c.DoMulti(ctx, r.c.B().Type().Key(k).Build(), r.c.B().Type().Key(stats).Build())
		deadType, err := types[0].ToString()
		if err != nil {
			return fmt.Errorf("TYPE %q: %w", k, err)
		}
		statsType, err := types[1].ToString()
		if err != nil {
			return fmt.Errorf("TYPE %q: %w", stats, err)
		}
		switch {
		case deadType == "none":
			continue
		case deadType != "zset":
			r.kept(DeadJobs, Finding{Key: k, Reason: "named like a dead set but is a " + deadType})
			continue
		case statsType != "hash" && statsType != "none":
			r.kept(DeadJobs, Finding{Key: k, Reason: "its queue's stats key is a " + statsType + ", not a hash: not trimmed"})
			continue
		}
		// Bytes freed are estimated as the set's usage times the share
		// removed; one MEMORY USAGE per set, before trimming.
		usage, err := r.c.Do(ctx, r.c.B().MemoryUsage().Key(k).Samples(memreport.DefaultElementSamples).Build()).AsInt64()
		if rueidis.IsRedisNil(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("MEMORY USAGE %q: %w", k, err)
		}
		card, err := r.c.Do(ctx, r.c.B().Zcard().Key(k).Build()).AsInt64()
		if err != nil {
			return fmt.Errorf("ZCARD %q: %w", k, err)
		}
		perJob := float64(usage) / float64(max(card, 1))
		for {
			if r.opts.Apply {
				if err := r.limit.wait(ctx, r.opts.ChunkSize); err != nil {
					return err
				}
			}
			out, err := deadTrim.Exec(ctx, r.c, tkeys, caps.Args()).AsIntSlice()
			if err != nil {
				return fmt.Errorf("trim %q: %w", k, err)
			}
			res, err := deadtrim.Parse(out)
			if errors.Is(err, deadtrim.ErrForeign) {
				r.kept(DeadJobs, Finding{Key: k, Reason: "dead set or its queue's stats key changed type during the trim"})
				break
			}
			if err != nil {
				return fmt.Errorf("trim %q: %w", k, err)
			}
			n := res.Dropped
			if !r.opts.Apply {
				n = res.Due
			}
			if n > 0 {
				tr.Members += n
				bytes := int64(perJob * float64(n))
				tr.Bytes += bytes
				r.prog.Members += n
				r.prog.Bytes += bytes
				if shown := shownKey(k); len(tr.Examples) < maxExamples && (len(tr.Examples) == 0 || tr.Examples[len(tr.Examples)-1] != shown) {
					tr.Examples = append(tr.Examples, shown)
				}
				r.progress()
			}
			if !r.opts.Apply || res.Dropped == 0 || res.Dropped >= res.Due {
				break
			}
			if err := keyspace.Pause(ctx, r.opts.Pause); err != nil {
				return err
			}
		}
	}
	return nil
}
