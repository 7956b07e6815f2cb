package redis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/backend"
)

// FirePeriodic implements backend.Backend: one periodic.lua call in the
// queue's slot compares the instant with the stored one and, only if it is
// later, stores it and pushes the job.
func (b *Backend) FirePeriodic(ctx context.Context, p backend.FirePeriodicParams) (backend.FirePeriodicResult, error) {
	var res backend.FirePeriodicResult
	if p.Name == "" || p.Queue == "" {
		return res, fmt.Errorf("joblot/redis: fire periodic: name %q and queue %q must not be empty", p.Name, p.Queue)
	}
	args := []string{p.Name, ms(p.Instant)}
	if p.Job != nil {
		if p.Job.Queue != p.Queue || p.Job.ID == "" {
			return res, fmt.Errorf("joblot/redis: fire periodic %q: job %q of queue %q, want an ID and queue %q", p.Name, p.Job.ID, p.Job.Queue, p.Queue)
		}
		args = append(args, encode(p.Job))
		if fresh := b.newQueues([]string{p.Queue}); len(fresh) > 0 {
			if err := b.c.Do(ctx, b.c.B().Sadd().Key(b.keys.Queues()).Member(fresh...).Build()).Error(); err != nil {
				b.forgetQueues(fresh)
				return res, wrap("fire periodic", err)
			}
		}
	}
	c := call{s: b.s.periodic, keys: []string{b.keys.QPeriodic(p.Queue), b.keys.QJobs(p.Queue), b.keys.QBell(p.Queue)}, args: args}
	reply, err := b.run(ctx, b.c, c).ToArray()
	if err == nil && len(reply) != 2 {
		err = fmt.Errorf("periodic.lua replied %d values", len(reply))
	}
	if err != nil {
		return res, wrap("fire periodic", err)
	}
	rec, err := reply[0].AsInt64()
	if err != nil {
		return res, wrap("fire periodic", err)
	}
	prev, err := reply[1].ToString()
	if err != nil {
		return res, wrap("fire periodic", err)
	}
	res.Recorded = rec == 1
	if prev != "" {
		n, err := strconv.ParseInt(prev, 10, 64)
		if err != nil {
			return res, wrap("fire periodic", fmt.Errorf("stored instant %q: %w", prev, err))
		}
		res.Previous = time.UnixMilli(n)
	}
	return res, nil
}

// SetPeriodic implements backend.Backend: the definitions hash is replaced
// in one MULTI.
func (b *Backend) SetPeriodic(ctx context.Context, defs []backend.PeriodicDef) error {
	cmds := rueidis.Commands{b.c.B().Multi().Build(), b.c.B().Del().Key(b.keys.Periodic()).Build()}
	if len(defs) > 0 {
		h := b.c.B().Hset().Key(b.keys.Periodic()).FieldValue()
		for _, d := range defs {
			v, err := json.Marshal(d)
			if err != nil {
				return fmt.Errorf("joblot/redis: set periodic %q: %w", d.Name, err)
			}
			h = h.FieldValue(d.Name, string(v))
		}
		cmds = append(cmds, h.Build())
	}
	cmds = append(cmds, b.c.B().Exec().Build())
	var errs []error
	for _, r := range b.c.DoMulti(ctx, cmds...) {
		if err := r.Error(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return wrap("set periodic", errors.Join(errs...))
	}
	return nil
}

// ListPeriodic implements backend.Backend: the definitions, then each one's
// last instant from its queue's hash, in one pipeline. A definition the
// store holds in a form this code cannot read is listed by name only.
func (b *Backend) ListPeriodic(ctx context.Context) ([]backend.PeriodicState, error) {
	all, err := b.c.Do(ctx, b.c.B().Hgetall().Key(b.keys.Periodic()).Build()).AsStrMap()
	if err != nil {
		return nil, wrap("list periodic", err)
	}
	out := make([]backend.PeriodicState, 0, len(all))
	for name, v := range all {
		var d backend.PeriodicDef
		if json.Unmarshal([]byte(v), &d) != nil {
			d = backend.PeriodicDef{}
		}
		d.Name = name
		out = append(out, backend.PeriodicState{PeriodicDef: d})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	var cmds rueidis.Commands
	var idx []int
	for i, s := range out {
		if s.Queue != "" {
			cmds = append(cmds, b.c.B().Hget().Key(b.keys.QPeriodic(s.Queue)).Field(s.Name).Build())
			idx = append(idx, i)
		}
	}
	if len(cmds) == 0 {
		return out, nil
	}
	for k, r := range b.c.DoMulti(ctx, cmds...) {
		n, err := r.AsInt64()
		if rueidis.IsRedisNil(err) {
			continue
		}
		if err != nil {
			return nil, wrap("list periodic", err)
		}
		out[idx[k]].Last = time.UnixMilli(n)
	}
	return out, nil
}
