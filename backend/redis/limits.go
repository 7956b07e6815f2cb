package redis

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/backend"
)

// limitReleaseCall builds the limit_release.lua call that frees the
// concurrency slots of the jobs idx of queue q that were fetched from a
// limited queue; ok is false when none was (the unlimited path sends
// nothing more).
func (b *Backend) limitReleaseCall(proc, q string, items []item, idx []int) (call, bool) {
	var ids []string
	for _, i := range idx {
		if f := items[i].f; f.Limited {
			ids = append(ids, wipField(f.Raw))
		}
	}
	if len(ids) == 0 {
		return call{}, false
	}
	return call{s: b.s.limitRelease, keys: []string{b.keys.QWip(q, proc), b.keys.QJobs(q), b.keys.QBell(q)}, args: ids}, true
}

// SetLimits implements backend.Backend with one limit_set.lua call.
func (b *Backend) SetLimits(ctx context.Context, p backend.SetLimitsParams) (backend.SetLimitsResult, error) {
	if p.Queue == "" {
		return backend.SetLimitsResult{}, fmt.Errorf("%w: no queue named", backend.ErrBadLimit)
	}
	if err := p.Limit.Validate(); err != nil {
		return backend.SetLimitsResult{}, err
	}
	l := p.Limit
	per := int64(0)
	if l.Rate > 0 {
		per = l.Per.Milliseconds()
	}
	q := p.Queue
	res := b.run(ctx, b.c, call{s: b.s.limitSet, keys: []string{b.keys.QLimit(q), b.keys.QJobs(q), b.keys.QBell(q)},
		args: []string{itoa(l.Concurrency), itoa(l.Rate), strconv.FormatInt(per, 10), l.By.String()}})
	arr, err := res.AsIntSlice()
	if err != nil || len(arr) != 2 {
		return backend.SetLimitsResult{}, wrap("set limits of "+q, err)
	}
	if err := b.c.Do(ctx, b.c.B().Sadd().Key(b.keys.Queues()).Member(q).Build()).Error(); err != nil {
		return backend.SetLimitsResult{}, wrap("set limits: register queue", err)
	}
	return backend.SetLimitsResult{Changed: arr[0] == 1, Released: int(arr[1])}, nil
}

// parseLimit reads a queue's :limit hash (nil when it holds none).
func parseLimit(m map[string]string) *backend.QueueLimit {
	if len(m) == 0 {
		return nil
	}
	var l backend.QueueLimit
	l.Concurrency, _ = strconv.Atoi(m["conc"])
	l.Rate, _ = strconv.Atoi(m["rate"])
	per, _ := strconv.ParseInt(m["per"], 10, 64)
	l.Per = time.Duration(per) * time.Millisecond
	switch m["by"] {
	case "kind":
		l.By = backend.LimitByKind
	case "key":
		l.By = backend.LimitByKey
	}
	return &l
}

// addLimitStats fills QueueStats.Limit of the queues of s: one pipelined
// round trip for the configurations, one for the groups of the limited
// queues (at most backend.MaxLimitGroupsShown each, read from the first
// page of an SSCAN, so a queue with many groups costs a bounded read).
func (b *Backend) addLimitStats(ctx context.Context, s *backend.Stats) error {
	if len(s.Queues) == 0 {
		return nil
	}
	cmds := make(rueidis.Commands, 0, 2*len(s.Queues))
	for _, q := range s.Queues {
		cmds = append(cmds,
			b.c.B().Hgetall().Key(b.keys.QLimit(q.Name)).Build(),
			b.c.B().Scard().Key(b.keys.QLGroups(q.Name)).Build())
	}
	res := b.c.DoMulti(ctx, cmds...)
	var limited []int
	for i := range s.Queues {
		m, err := res[2*i].AsStrMap()
		if err != nil {
			return wrap("stats: limits", err)
		}
		total, _ := res[2*i+1].AsInt64()
		l := parseLimit(m)
		if l == nil && total == 0 {
			continue
		}
		ls := &backend.LimitStats{GroupsTotal: int(total)}
		if l != nil {
			ls.Limit = *l
		}
		s.Queues[i].Limit = ls
		if total > 0 {
			limited = append(limited, i)
		}
	}
	if len(limited) == 0 {
		return nil
	}
	cmds = cmds[:0]
	for _, i := range limited {
		cmds = append(cmds, b.c.B().Sscan().Key(b.keys.QLGroups(s.Queues[i].Name)).Cursor(0).Count(100).Build())
	}
	var groups [][]string
	for _, r := range b.c.DoMulti(ctx, cmds...) {
		e, err := r.AsScanEntry()
		if err != nil {
			return wrap("stats: limit groups", err)
		}
		g := e.Elements
		sort.Strings(g)
		if len(g) > backend.MaxLimitGroupsShown {
			g = g[:backend.MaxLimitGroupsShown]
		}
		groups = append(groups, g)
	}
	cmds = cmds[:0]
	for k, i := range limited {
		q := s.Queues[i].Name
		for _, g := range groups[k] {
			cmds = append(cmds, b.c.B().Scard().Key(b.keys.QLRun(q, g)).Build(), b.c.B().Llen().Key(b.keys.QLWait(q, g)).Build())
		}
	}
	if len(cmds) == 0 {
		return nil
	}
	res = b.c.DoMulti(ctx, cmds...)
	at := 0
	for k, i := range limited {
		ls := s.Queues[i].Limit
		for _, g := range groups[k] {
			run, err := res[at].AsInt64()
			if err != nil {
				return wrap("stats: limit group", err)
			}
			wait, err := res[at+1].AsInt64()
			if err != nil {
				return wrap("stats: limit group", err)
			}
			at += 2
			ls.Groups = append(ls.Groups, backend.LimitGroupStats{Group: g, Running: run, Waiting: wait})
		}
	}
	return nil
}
