package bolt

import (
	"bytes"
	"context"

	bbolt "go.etcd.io/bbolt"

	"github.com/joblot/joblot/backend"
)

var _ backend.ProcessJobsReader = (*Backend)(nil)

// ProcessJobs implements backend.ProcessJobsReader. In-flight keys start
// with the process id and a zero byte (wipKey), so each queue's entries
// of the process are one prefix range.
func (b *Backend) ProcessJobs(ctx context.Context, p backend.ProcessJobsParams) (backend.ProcessJobsResult, error) {
	var res backend.ProcessJobsResult
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if p.Proc == "" {
		return res, nil
	}
	prefix := wipKey(p.Proc, "")
	err := b.view(func(tx *bbolt.Tx) error {
		all := tx.Bucket(bucketQueues)
		if all == nil {
			return nil
		}
		return all.ForEachBucket(func(name []byte) error {
			wip := all.Bucket(name).Bucket(subWip)
			if wip == nil {
				return nil
			}
			cur := wip.Cursor()
			for k, v := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = cur.Next() {
				res.Jobs = append(res.Jobs, backend.DecodeFetched(string(name), clone(v)).Job)
			}
			return nil
		})
	})
	if err != nil {
		return backend.ProcessJobsResult{}, wrapErr("process jobs", err)
	}
	res.SortLimit(p.Limit)
	return res, nil
}
