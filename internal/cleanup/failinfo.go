package cleanup

import (
	"context"
	"fmt"
	"strings"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/internal/memreport"
)

// isFailinfoKey matches exactly "b-<bid>-failinfo" with a Sidekiq Pro batch
// id; "b-123-failinfo-backup" or "b-x:y-failinfo" do not match.
func isFailinfoKey(k string) bool {
	bid, ok := strings.CutSuffix(strings.TrimPrefix(k, "b-"), "-failinfo")
	return ok && strings.HasPrefix(k, "b-") && memreport.IsSidekiqBID(bid)
}

// failinfo removes the Sidekiq Pro failinfo hashes among keys. The name is
// not enough (other applications use "b-" names): the key must be a hash,
// as Sidekiq Pro writes it.
func (r *run) failinfo(ctx context.Context, keys []string) error {
	cmds := make(rueidis.Commands, 0, 2*len(keys))
	for _, k := range keys {
		cmds = append(cmds, r.c.B().Type().Key(k).Build(), r.c.B().MemoryUsage().Key(k).Samples(memreport.DefaultElementSamples).Build())
	}
	res := r.c.DoMulti(ctx, cmds...)
	var doomed []string
	var bytes int64
	for i, k := range keys {
		typ, err := res[2*i].ToString()
		if err != nil {
			return fmt.Errorf("TYPE %q: %w", k, err)
		}
		switch typ {
		case "hash":
		case "none":
			continue // gone since SCAN
		default:
			r.kept(SidekiqFailinfo, Finding{Key: k, Reason: "named like a failinfo hash but is a " + typ})
			continue
		}
		n, err := res[2*i+1].AsInt64()
		if err != nil && !rueidis.IsRedisNil(err) {
			return fmt.Errorf("MEMORY USAGE %q: %w", k, err)
		}
		doomed = append(doomed, k)
		bytes += n
	}
	if len(doomed) == 0 {
		return nil
	}
	if !r.opts.Apply {
		r.removed(SidekiqFailinfo, doomed, int64(len(doomed)), bytes)
		return nil
	}
	n, err := r.unlink(ctx, doomed)
	r.removed(SidekiqFailinfo, doomed, n, bytes)
	return err
}
