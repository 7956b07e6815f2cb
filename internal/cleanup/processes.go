package cleanup

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/internal/memreport"
)

const procsKey = "jl:procs"

// procInfoID returns <id> of "jl:proc:<id>".
func procInfoID(k string) (string, bool) {
	id, ok := strings.CutPrefix(k, "jl:proc:")
	return id, ok && id != ""
}

func isProcKey(k string) bool { _, ok := procInfoID(k); return ok }

// wipProc returns <proc> of "{jl:q:<q>}:wip:<proc>".
func wipProc(k string) (string, bool) {
	rest, ok := strings.CutPrefix(k, "{jl:q:")
	if !ok {
		return "", false
	}
	end := strings.IndexByte(rest, '}')
	if end < 0 {
		return "", false
	}
	proc, ok := strings.CutPrefix(rest[end+1:], ":wip:")
	return proc, ok && proc != ""
}

func isWipKey(k string) bool { _, ok := wipProc(k); return ok }

// registered reports which of procs have an entry in jl:procs (whatever
// its lease: a process whose lease expired is the backend's to recover).
func (r *run) registered(ctx context.Context, procs []string) ([]bool, error) {
	scores, err := r.c.Do(ctx, r.c.B().Zmscore().Key(procsKey).Member(procs...).Build()).ToArray()
	out := make([]bool, len(procs))
	if isWrongType(err) {
		// Not joblot's registry: no process can be judged gone.
		r.kept(Processes, Finding{Key: procsKey, Reason: "not a sorted set, so not joblot's process registry: no process is judged gone"})
		for i := range out {
			out[i] = true
		}
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ZMSCORE %s: %w", procsKey, err)
	}
	for i := range scores {
		out[i] = !scores[i].IsNil()
	}
	return out, nil
}

// procInfo removes jl:proc:<id> hashes of processes absent from jl:procs,
// idle for at least ProcessGrace. jl:procs and jl:proc:<id> live in
// different slots, so the check cannot be atomic with the removal; the
// grace keeps a process that is registering right now.
func (r *run) procInfo(ctx context.Context, keys []string) error {
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i], _ = procInfoID(k)
	}
	reg, err := r.registered(ctx, ids)
	if err != nil {
		return err
	}
	var cand []string
	for i, k := range keys {
		if !reg[i] {
			cand = append(cand, k)
		}
	}
	if len(cand) == 0 {
		return nil
	}
	const perKey = 3
	cmds := make(rueidis.Commands, 0, perKey*len(cand))
	for _, k := range cand {
		cmds = append(cmds, r.c.B().ObjectIdletime().Key(k).Build(), r.c.B().MemoryUsage().Key(k).Samples(memreport.DefaultElementSamples).Build(),
			r.c.B().Type().Key(k).Build())
	}
	res := r.c.DoMulti(ctx, cmds...)
	var doomed []string
	var bytes int64
	for i, k := range cand {
		size, err := res[perKey*i+1].AsInt64()
		if rueidis.IsRedisNil(err) {
			continue // gone
		}
		if err != nil {
			return fmt.Errorf("MEMORY USAGE %q: %w", k, err)
		}
		typ, err := res[perKey*i+2].ToString()
		if err != nil {
			return fmt.Errorf("TYPE %q: %w", k, err)
		}
		if typ != "hash" {
			if typ != "none" {
				r.kept(Processes, Finding{Key: k, Reason: "named like a process info hash but is a " + typ})
			}
			continue
		}
		if r.opts.ProcessGrace > 0 {
			idle, err := res[perKey*i].AsInt64()
			if rueidis.IsRedisNil(err) {
				continue
			}
			if err != nil {
				r.kept(Processes, Finding{Key: k, Reason: "process not in jl:procs, but its idle time is unknown: " + err.Error()})
				continue
			}
			if time.Duration(idle)*time.Second < r.opts.ProcessGrace {
				continue // may be registering right now
			}
		}
		doomed = append(doomed, k)
		bytes += size
	}
	if len(doomed) == 0 {
		return nil
	}
	if !r.opts.Apply {
		r.removed(Processes, doomed, int64(len(doomed)), bytes)
		return nil
	}
	n, err := r.unlink(ctx, doomed)
	r.removed(Processes, doomed, n, bytes)
	return err
}

// wip reports in-flight hashes of processes absent from jl:procs. They
// hold jobs, and the backend's recovery only looks at processes listed in
// jl:procs, so an operator must act on them; cleanup never removes them.
func (r *run) wip(ctx context.Context, keys []string) error {
	procs := make([]string, len(keys))
	for i, k := range keys {
		procs[i], _ = wipProc(k)
	}
	reg, err := r.registered(ctx, procs)
	if err != nil {
		return err
	}
	var cmds rueidis.Commands
	var orphans []string
	for i, k := range keys {
		if !reg[i] {
			orphans = append(orphans, k)
			cmds = append(cmds, r.c.B().Hlen().Key(k).Build())
		}
	}
	if len(cmds) == 0 {
		return nil
	}
	for i, res := range r.c.DoMulti(ctx, cmds...) {
		n, err := res.AsInt64()
		if err != nil {
			r.kept(Processes, Finding{Key: orphans[i], Reason: "in-flight key of an unregistered process is not a hash: " + err.Error()})
			continue
		}
		if n > 0 {
			r.kept(Processes, Finding{Key: orphans[i], Count: n,
				Reason: "in-flight jobs of a process not in jl:procs: not removed (they are jobs); requeue them"})
		}
	}
	return nil
}
