package redis

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/rediskeys"
)

// errSample is the sample an error bucket keeps of a group (field
// i:<fp>), written once, when the group enters the bucket.
type errSample struct {
	Kind    string `json:"k"`
	Class   string `json:"c"`
	JobID   string `json:"j"`
	Message string `json:"m"`
	First   int64  `json:"f"` // unix ms
}

// encodeErrSample is j's failure as an error bucket's sample, first seen
// at now.
func encodeErrSample(j *backend.Job, now time.Time) string {
	raw, err := json.Marshal(errSample{Kind: j.Kind, Class: j.ErrorClass, JobID: j.ID, Message: backend.ErrorSample(j.ErrorMessage), First: now.UnixMilli()})
	if err != nil { // strings and an int: cannot fail
		return "{}"
	}
	return string(raw)
}

// ErrorGroups reads the hourly error buckets of every queue (or
// f.Queue) a query at now covers: one pipelined HGETALL per bucket, queue
// by queue.
func (b *Backend) ErrorGroups(ctx context.Context, f backend.ErrorGroupFilter, now time.Time) ([]backend.ErrorGroupStat, error) {
	queues := []string{f.Queue}
	if f.Queue == "" {
		var err error
		queues, err = b.c.Do(ctx, b.c.B().Smembers().Key(b.keys.Queues()).Build()).AsStrSlice()
		if err != nil {
			return nil, wrap("list queues", err)
		}
	}
	hours := backend.ErrorHours(now, f.Since, b.limits.ErrorGroupRetention)
	acc := backend.NewErrorGroupAcc(f)
	cmds := make(rueidis.Commands, len(hours))
	for _, q := range queues {
		for i, h := range hours {
			cmds[i] = b.c.B().Hgetall().Key(b.keys.QErrs(q, h.Format(rediskeys.ErrHourFormat))).Build()
		}
		for i, r := range b.c.DoMulti(ctx, cmds...) {
			m, err := r.AsStrMap()
			if err != nil {
				return nil, wrap("read error groups of queue "+q, err)
			}
			addErrBucket(acc, q, hours[i], m)
		}
	}
	return acc.Result(), nil
}

// addErrBucket feeds one error bucket's hash to acc. A field it cannot
// read is skipped: the others still count.
func addErrBucket(acc *backend.ErrorGroupAcc, q string, hour time.Time, m map[string]string) {
	for k, v := range m {
		fp, ok := strings.CutPrefix(k, "c:")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			continue
		}
		g := backend.ErrorGroup{Fingerprint: fp, Count: n, FirstSeen: hour}
		var s errSample
		if json.Unmarshal([]byte(m["i:"+fp]), &s) == nil {
			g.Kind, g.Class, g.JobID, g.Message = s.Kind, s.Class, s.JobID, s.Message
			if s.First > 0 {
				g.FirstSeen = time.UnixMilli(s.First)
			}
		}
		g.LastSeen = g.FirstSeen
		if l, err := strconv.ParseInt(m["l:"+fp], 10, 64); err == nil {
			g.LastSeen = time.UnixMilli(l)
		}
		acc.Add(q, hour, g)
	}
	if n, err := strconv.ParseInt(m["other"], 10, 64); err == nil {
		acc.AddOther(q, hour, n)
	}
}
