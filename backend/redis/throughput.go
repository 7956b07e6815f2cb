package redis

import (
	"context"
	"sort"
	"strconv"
	"time"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/backend"
)

// minuteArgs are complete.lua's minute arguments for an ack at now: the
// unix hour, the processed and failed fields of now's minute, and the TTL
// (s) that keeps the hour's hash until backend.ThroughputWindow after the
// hour ends (the ring bounds it anyway: this only frees an idle queue's).
func minuteArgs(now time.Time) (hour, pf, ff, ttl string) {
	m := backend.UnixMinute(now)
	h := floorDivR(m, 60)
	mm := strconv.FormatInt(m-60*h, 10)
	end := time.Unix((h+1)*3600, 0).Add(backend.ThroughputWindow)
	secs := int64((end.Sub(now) + time.Second - 1) / time.Second)
	return strconv.FormatInt(h, 10), "p" + mm, "f" + mm, strconv.FormatInt(max(secs, 1), 10)
}

func floorDivR(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// Throughput implements backend.Backend: one HGETALL per queue and hour of
// the window (at most 24 per queue), pipelined in one round trip after the
// queue list.
func (b *Backend) Throughput(ctx context.Context, p backend.ThroughputParams) (backend.ThroughputResult, error) {
	first, last := p.Window(b.now())
	if first > last {
		return backend.ThroughputResult{}, nil
	}
	queues := []string{p.Queue}
	if p.Queue == "" {
		var err error
		queues, err = b.c.Do(ctx, b.c.B().Smembers().Key(b.keys.Queues()).Build()).AsStrSlice()
		if err != nil {
			return backend.ThroughputResult{}, wrap("throughput: list queues", err)
		}
		sort.Strings(queues)
	}
	firstHour, lastHour := floorDivR(first, 60), floorDivR(last, 60)
	type slot struct {
		queue string
		hour  int64
	}
	var (
		cmds  rueidis.Commands
		slots []slot
	)
	for _, q := range queues {
		for h := firstHour; h <= lastHour; h++ {
			cmds = append(cmds, b.c.B().Hgetall().Key(b.keys.QMinutes(q, int((h%24+24)%24))).Build())
			slots = append(slots, slot{q, h})
		}
	}
	var res backend.ThroughputResult
	for i, r := range b.c.DoMulti(ctx, cmds...) {
		m, err := r.AsStrMap()
		if err != nil {
			return backend.ThroughputResult{}, wrap("throughput", err)
		}
		s := slots[i]
		if m["h"] != strconv.FormatInt(s.hour, 10) {
			continue // it counts another hour (or nothing)
		}
		for mm := int64(0); mm < 60; mm++ {
			minute := s.hour*60 + mm
			if minute < first || minute > last {
				continue
			}
			k := strconv.FormatInt(mm, 10)
			pv, pok := m["p"+k]
			if !pok {
				continue
			}
			pt := backend.ThroughputPoint{Minute: time.Unix(minute*60, 0).UTC(), Queue: s.queue}
			pt.Processed, _ = strconv.ParseInt(pv, 10, 64)
			pt.Failed, _ = strconv.ParseInt(m["f"+k], 10, 64)
			res.Points = append(res.Points, pt)
		}
	}
	sort.SliceStable(res.Points, func(i, j int) bool {
		a, c := res.Points[i], res.Points[j]
		if !a.Minute.Equal(c.Minute) {
			return a.Minute.Before(c.Minute)
		}
		return a.Queue < c.Queue
	})
	return res, nil
}

// ThroughputBuckets reports how many per-minute buckets the store holds for
// queue, stale ones included (at most backend.ThroughputMinutes): the
// bound the conformance suite checks.
func (b *Backend) ThroughputBuckets(ctx context.Context, queue string) (int, error) {
	cmds := make(rueidis.Commands, 24)
	for h := range cmds {
		cmds[h] = b.c.B().Hkeys().Key(b.keys.QMinutes(queue, h)).Build()
	}
	n := 0
	for _, r := range b.c.DoMulti(ctx, cmds...) {
		fields, err := r.AsStrSlice()
		if err != nil {
			return 0, wrap("throughput buckets", err)
		}
		for _, f := range fields {
			if len(f) > 1 && f[0] == 'p' {
				n++
			}
		}
	}
	return n, nil
}
