package redis

import (
	"context"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/backend"
)

var _ backend.ProcessJobsReader = (*Backend)(nil)

// ProcessJobs implements backend.ProcessJobsReader: one HGETALL of the
// process's in-flight hash per known queue, in one pipeline. A process
// holds at most its concurrency (and the jobs it prefetched), so the
// hashes are small.
func (b *Backend) ProcessJobs(ctx context.Context, p backend.ProcessJobsParams) (backend.ProcessJobsResult, error) {
	var res backend.ProcessJobsResult
	if p.Proc == "" {
		return res, nil
	}
	queues, err := b.c.Do(ctx, b.c.B().Smembers().Key(b.keys.Queues()).Build()).AsStrSlice()
	if err != nil {
		return res, wrap("list queues", err)
	}
	if len(queues) == 0 {
		return res, nil
	}
	cmds := make(rueidis.Commands, len(queues))
	for i, q := range queues {
		cmds[i] = b.c.B().Hgetall().Key(b.keys.QWip(q, p.Proc)).Build()
	}
	for i, r := range b.c.DoMulti(ctx, cmds...) {
		m, err := r.AsStrMap()
		if err != nil {
			return backend.ProcessJobsResult{}, wrap("read in-flight jobs of "+p.Proc, err)
		}
		for _, raw := range m {
			res.Jobs = append(res.Jobs, backend.DecodeFetched(queues[i], []byte(raw)).Job)
		}
	}
	res.SortLimit(p.Limit)
	return res, nil
}
