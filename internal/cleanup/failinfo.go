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
// as Sidekiq Pro writes it, and its entries, sampled, must look like
// Sidekiq Pro's: a jid field and a JSON value (the error). Anything else
// is kept and reported. The sample is HSCAN's first step: HRANDFIELD would
// advance the hash table's incremental rehash, which a dry run must not.
func (r *run) failinfo(ctx context.Context, keys []string) error {
	const perKey = 3
	cmds := make(rueidis.Commands, 0, perKey*len(keys))
	for _, k := range keys {
		cmds = append(cmds,
			r.c.B().Type().Key(k).Build(),
			r.c.B().MemoryUsage().Key(k).Samples(memreport.DefaultElementSamples).Build(),
			r.c.B().Hscan().Key(k).Cursor(0).Count(failinfoSamples).Build())
	}
	res := r.c.DoMulti(ctx, cmds...)
	var doomed []string
	var bytes int64
	for i, k := range keys {
		typ, err := res[perKey*i].ToString()
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
		entries, err := failinfoEntries(res[perKey*i+2])
		if isWrongType(err) {
			r.kept(SidekiqFailinfo, Finding{Key: k, Reason: "named like a failinfo hash but changed type meanwhile"})
			continue
		}
		if err != nil {
			return fmt.Errorf("HSCAN %q: %w", k, err)
		}
		if why := notFailinfo(entries); why != "" {
			r.kept(SidekiqFailinfo, Finding{Key: k, Reason: why})
			continue
		}
		n, err := res[perKey*i+1].AsInt64()
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
