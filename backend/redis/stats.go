package redis

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/backend"
)

// Stats reads counters, queue sizes and processes in two pipelined round
// trips: O(queues × (1 + stats days) + processes × (1 + queues)) small
// commands, none of which scans a set.
func (b *Backend) Stats(ctx context.Context, now time.Time) (*backend.Stats, error) {
	queues, err := b.c.Do(ctx, b.c.B().Smembers().Key(b.keys.Queues()).Build()).AsStrSlice()
	if err != nil {
		return nil, wrap("stats: list queues", err)
	}
	sort.Strings(queues)
	procs, err := b.c.Do(ctx, b.c.B().Zrange().Key(b.keys.Procs()).Min("0").Max("-1").Withscores().Build()).AsZScores()
	if err != nil {
		return nil, wrap("stats: list processes", err)
	}
	days := make([]string, b.limits.StatsDays)
	for i := range days {
		days[i] = now.UTC().AddDate(0, 0, -i).Format("2006-01-02")
	}

	const perQueue = 7
	var cmds rueidis.Commands
	for _, q := range queues {
		cmds = append(cmds,
			b.c.B().Llen().Key(b.keys.QJobs(q)).Build(),
			b.c.B().Zcard().Key(b.keys.QSched(q)).Build(),
			b.c.B().Zcard().Key(b.keys.QRetry(q)).Build(),
			b.c.B().Zcard().Key(b.keys.QDead(q)).Build(),
			b.c.B().Hmget().Key(b.keys.QStats(q)).Field("processed", "failed", "dead_dropped", "discarded", "cancelled").Build(),
			b.c.B().Exists().Key(b.keys.QPaused(q)).Build(),
			b.c.B().Lindex().Key(b.keys.QJobs(q)).Index(0).Build())
	}
	dayBase := len(cmds)
	for _, q := range queues {
		for _, d := range days {
			cmds = append(cmds, b.c.B().Hmget().Key(b.keys.QDay(q, d)).Field("processed", "failed").Build())
		}
	}
	procBase := len(cmds)
	for _, p := range procs {
		cmds = append(cmds, b.c.B().Hgetall().Key(b.keys.Proc(p.Member)).Build())
		for _, q := range queues {
			cmds = append(cmds, b.c.B().Hlen().Key(b.keys.QWip(q, p.Member)).Build())
		}
	}
	globalAt := len(cmds)
	cmds = append(cmds, b.c.B().Hget().Key(b.keys.Stats()).Field("expired_batch_events").Build())
	outputAt := len(cmds)
	cmds = append(cmds, b.c.B().Hgetall().Key(b.keys.OutMeta()).Build(), b.c.B().Hlen().Key(b.keys.OutData()).Build())
	res := b.c.DoMulti(ctx, cmds...)
	for _, r := range res {
		if err := r.Error(); err != nil && !rueidis.IsRedisNil(err) {
			return nil, wrap("stats", err)
		}
	}
	num := func(m rueidis.RedisMessage) int64 {
		if n, err := m.AsInt64(); err == nil {
			return n
		}
		return 0
	}
	numOf := func(r rueidis.RedisResult) int64 {
		if n, err := r.AsInt64(); err == nil {
			return n
		}
		return 0
	}

	s := &backend.Stats{}
	for i, q := range queues {
		r := res[perQueue*i : perQueue*(i+1)]
		qs := backend.QueueStats{Name: q}
		qs.Size, _ = r[0].AsInt64()
		qs.Scheduled, _ = r[1].AsInt64()
		qs.Retry, _ = r[2].AsInt64()
		qs.Dead, _ = r[3].AsInt64()
		counters, _ := r[4].ToArray()
		if len(counters) == 5 {
			s.Processed += num(counters[0])
			s.Failed += num(counters[1])
			s.DeadDropped += num(counters[2])
			s.Discarded += num(counters[3])
			s.Cancelled += num(counters[4])
		}
		paused, _ := r[5].AsInt64()
		qs.Paused = paused == 1
		if head, err := r[6].ToString(); err == nil {
			if j, err := backend.DecodeJob([]byte(head)); err == nil {
				since := j.CreatedAt
				if j.RunAt.After(since) {
					since = j.RunAt
				}
				if !since.IsZero() && now.After(since) {
					qs.Latency = now.Sub(since)
				}
			}
		}
		s.Queues = append(s.Queues, qs)
	}
	for di, d := range days {
		ds := backend.DayStats{Date: d}
		seen := false
		for qi := range queues {
			arr, _ := res[dayBase+qi*len(days)+di].ToArray()
			if len(arr) == 2 && (!arr[0].IsNil() || !arr[1].IsNil()) {
				seen = true
				ds.Processed += num(arr[0])
				ds.Failed += num(arr[1])
			}
		}
		if seen {
			s.Days = append(s.Days, ds)
		}
	}
	k := procBase
	for _, p := range procs {
		info, _ := res[k].AsStrMap()
		k++
		pi := backend.ProcessInfo{ID: p.Member, Hostname: info["host"]}
		pi.PID, _ = strconv.Atoi(info["pid"])
		pi.Concurrency, _ = strconv.Atoi(info["concurrency"])
		pi.Quiet = info[procQuietField] == "1"
		if info["queues"] != "" {
			pi.Queues = strings.Split(info["queues"], ",")
		}
		if n, err := strconv.ParseInt(info["started"], 10, 64); err == nil && n > 0 {
			pi.StartedAt = time.UnixMilli(n)
		}
		ttl, _ := strconv.ParseInt(info["ttl"], 10, 64)
		pi.LastBeat = time.UnixMilli(int64(p.Score) - ttl)
		for qi := range queues {
			n := numOf(res[k])
			k++
			pi.InFlight += int(n)
			s.Queues[qi].InFlight += n
		}
		s.Processes = append(s.Processes, pi)
	}
	s.ExpiredBatchEvents = numOf(res[globalAt])
	if err := outputStats(s, res[outputAt], res[outputAt+1]); err != nil {
		return nil, err
	}
	if err := b.addLimitStats(ctx, s); err != nil {
		return nil, err
	}
	return s, nil
}
