package cleanup

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/internal/keyspace"
	"github.com/joblot/joblot/internal/memreport"
)

//go:embed dead_trim.lua
var deadTrimSrc string

var deadTrim = rueidis.NewLuaScript(deadTrimSrc)

// deadQueue returns the queue tag "{jl:q:<q>}" of "{jl:q:<q>}:dead".
func deadQueue(k string) (string, bool) {
	tag, ok := strings.CutSuffix(k, ":dead")
	if !ok || !strings.HasPrefix(tag, "{jl:q:") || strings.IndexByte(tag, '}') != len(tag)-1 {
		return "", false
	}
	return tag, true
}

func isDeadKey(k string) bool { _, ok := deadQueue(k); return ok }

// dead trims each dead set to the caps, a chunk per call at the rate
// limit. Each call recomputes what is beyond the caps, so an interrupted
// trim resumes where it stopped, and jobs dying meanwhile (newest) are
// never the ones removed.
func (r *run) dead(ctx context.Context, keys []string) error {
	capArg, cutoffArg := "-1", "-1"
	if r.opts.DeadMaxJobs > 0 {
		capArg = strconv.FormatInt(r.opts.DeadMaxJobs, 10)
	}
	if r.opts.DeadMaxAge > 0 {
		cutoffArg = strconv.FormatInt(r.opts.Now.Add(-r.opts.DeadMaxAge).UnixMilli(), 10)
	}
	apply := "0"
	if r.opts.Apply {
		apply = "1"
	}
	tr := r.target(DeadJobs)
	for _, k := range keys {
		tag, _ := deadQueue(k)
		stats := tag + ":stats"
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
			out, err := deadTrim.Exec(ctx, r.c, []string{k, stats},
				[]string{capArg, cutoffArg, strconv.Itoa(r.opts.ChunkSize), apply}).AsIntSlice()
			if err != nil {
				return fmt.Errorf("trim %q: %w", k, err)
			}
			if out[0] < 0 {
				r.kept(DeadJobs, Finding{Key: k, Reason: "dead set or its queue's stats key changed type during the trim"})
				break
			}
			n := out[0]
			if !r.opts.Apply {
				n = out[1]
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
			if !r.opts.Apply || out[0] == 0 || out[0] >= out[1] {
				break
			}
			if err := keyspace.Pause(ctx, r.opts.Pause); err != nil {
				return err
			}
		}
	}
	return nil
}
