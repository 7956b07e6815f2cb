package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/backend"
)

// Heartbeat refreshes proc's lease in jl:procs on the dedicated heartbeat
// connection, so a busy pipeline cannot starve it. A process that had
// registered and is missing from jl:procs was declared dead (its jobs may
// have been recovered): ErrFenced.
//
// A beat is one script call running one command (heartbeat.lua). The
// process's info hash, kept for display, is written at the
// first beat and refreshed only every quarter of its lifetime: an idle
// process costs Redis as few calls as possible.
func (b *Backend) Heartbeat(ctx context.Context, info backend.ProcessInfo, ttl time.Duration) error {
	if info.ID == "" {
		return errors.New("joblot/redis: heartbeat: process has no ID")
	}
	// The lease's expiry is on the backend's clock, which RecoverOrphans'
	// now is compared with; the info hash expires on Redis's clock, so its
	// refresh is paced by the wall clock.
	now, wall := b.now(), time.Now()
	keep := max(10*ttl, time.Minute)
	b.mu.Lock()
	mark, registered := b.registered[info.ID]
	b.mu.Unlock()
	flag := "0"
	if !registered {
		flag = "1"
	}
	hb := call{s: b.s.heartbeat, keys: []string{b.keys.Procs()}, args: []string{info.ID, ms(now.Add(ttl)), flag}}
	ok, err := b.run(ctx, b.hb, hb).AsInt64()
	if err != nil {
		return wrap("heartbeat", err)
	}
	if ok == 0 {
		return fmt.Errorf("joblot/redis: process %s: %w", info.ID, backend.ErrFenced)
	}
	// A process that went quiet says so at once, for Stats to show.
	newlyQuiet := info.Quiet && !mark.quiet
	if registered && wall.Sub(mark.infoAt) < keep/4 && !newlyQuiet {
		return nil
	}
	key := b.keys.Proc(info.ID)
	var cmds rueidis.Commands
	if !registered {
		cmds = append(cmds, b.hb.B().Hset().Key(key).FieldValue().
			FieldValue("host", info.Hostname).
			FieldValue("pid", strconv.Itoa(info.PID)).
			FieldValue("queues", strings.Join(info.Queues, ",")).
			FieldValue("concurrency", strconv.Itoa(info.Concurrency)).
			FieldValue("started", ms(info.StartedAt)).
			FieldValue("ttl", itoa(ttl.Milliseconds())).Build())
	} else {
		cmds = append(cmds, b.hb.B().Hset().Key(key).FieldValue().FieldValue("ttl", itoa(ttl.Milliseconds())).Build())
	}
	if info.Quiet {
		cmds = append(cmds, b.hb.B().Hset().Key(key).FieldValue().FieldValue(procQuietField, "1").Build())
	}
	cmds = append(cmds, b.hb.B().Pexpire().Key(key).Milliseconds(keep.Milliseconds()).Build())
	written := true
	for _, r := range b.hb.DoMulti(ctx, cmds...) {
		if err := r.Error(); err != nil {
			// The info is for display; a full Redis must not fence the process.
			b.log.Warn("joblot: cannot write process info", "proc", info.ID, "err", err)
			written = false
			break
		}
	}
	b.mu.Lock()
	if _, present := b.registered[info.ID]; present || !registered {
		b.registered[info.ID] = procMark{infoAt: wall, quiet: mark.quiet || info.Quiet && written}
	}
	b.mu.Unlock()
	return nil
}

// procQuietField is the field of a process's info hash that says it is
// quiet or was asked to be: "1" when set, by the process itself (Heartbeat)
// or by an operator (RequestQuiet).
const procQuietField = "quiet"

// procMark is what this Backend remembers of a process that heartbeats
// through it.
type procMark struct {
	infoAt time.Time // when its info hash was last written
	quiet  bool      // its info hash says it is quiet
}

var _ backend.Quieter = (*Backend)(nil)

// RequestQuiet implements backend.Quieter: it sets the quiet field of
// process id's info hash, which the process reads on its heartbeat
// (QuietRequested). Two plain commands, no script: the info hash is a
// global key, and a hash recreated by a race with its expiry gets a TTL
// (PEXPIRE NX) so it cannot outlive the process.
func (b *Backend) RequestQuiet(ctx context.Context, id string) error {
	if id == "" {
		return fmt.Errorf("joblot/redis: quiet: no process id: %w", backend.ErrProcessNotFound)
	}
	err := b.c.Do(ctx, b.c.B().Zscore().Key(b.keys.Procs()).Member(id).Build()).Error()
	if rueidis.IsRedisNil(err) {
		return fmt.Errorf("joblot/redis: quiet process %q: %w", id, backend.ErrProcessNotFound)
	}
	if err != nil {
		return wrap("quiet process", err)
	}
	key := b.keys.Proc(id)
	for _, r := range b.c.DoMulti(ctx,
		b.c.B().Hset().Key(key).FieldValue().FieldValue(procQuietField, "1").Build(),
		b.c.B().Pexpire().Key(key).Milliseconds(quietMarkTTL.Milliseconds()).Nx().Build()) {
		if err := r.Error(); err != nil {
			return wrap("quiet process", err)
		}
	}
	return nil
}

// quietMarkTTL bounds an info hash that RequestQuiet recreated (the
// process's own info hash had just expired): the process re-registers it
// with its own TTL if it is alive.
const quietMarkTTL = 10 * time.Minute

// QuietRequested implements backend.Quieter: one HGET on the heartbeat
// connection.
func (b *Backend) QuietRequested(ctx context.Context, id string) (bool, error) {
	v, err := b.hb.Do(ctx, b.hb.B().Hget().Key(b.keys.Proc(id)).Field(procQuietField).Build()).ToString()
	if rueidis.IsRedisNil(err) {
		return false, nil
	}
	if err != nil {
		return false, wrap("quiet requested", err)
	}
	return v == "1", nil
}

// Deregister puts proc's remaining in-flight jobs back at the head of their
// queues untouched and removes the process.
func (b *Backend) Deregister(ctx context.Context, proc string) error {
	if _, err := b.drainProcess(ctx, proc, false, b.now()); err != nil {
		return err
	}
	b.mu.Lock()
	delete(b.registered, proc)
	b.mu.Unlock()
	return b.removeProcess(ctx, proc)
}

func (b *Backend) removeProcess(ctx context.Context, proc string) error {
	for _, r := range b.c.DoMulti(ctx,
		b.c.B().Zrem().Key(b.keys.Procs()).Member(proc).Build(),
		b.c.B().Del().Key(b.keys.Proc(proc)).Build()) {
		if err := r.Error(); err != nil {
			return wrap("remove process "+proc, err)
		}
	}
	return nil
}

// RecoverOrphans recovers the in-flight jobs of every process whose lease
// expired before now, then removes the process (so it is fenced).
func (b *Backend) RecoverOrphans(ctx context.Context, now time.Time) (int, error) {
	dead, err := b.c.Do(ctx, b.c.B().Zrangebyscore().Key(b.keys.Procs()).Min("-inf").Max(ms(now)).Build()).AsStrSlice()
	if err != nil {
		return 0, wrap("list expired processes", err)
	}
	total := 0
	for _, proc := range dead {
		n, err := b.drainProcess(ctx, proc, true, now)
		total += n
		if err != nil {
			return total, err
		}
		if err := b.removeProcess(ctx, proc); err != nil {
			return total, err
		}
	}
	return total, nil
}

// drainProcess empties proc's in-flight hashes of every known queue. With
// recover set, each job comes back with Recoveries+1 and one reaching
// backend.MaxRecoveries goes dead as a poison pill; otherwise jobs come
// back untouched. Each job moves only if its in-flight entry is still there
// (complete.lua), so a racing ack of the live process wins cleanly.
func (b *Backend) drainProcess(ctx context.Context, proc string, recover bool, now time.Time) (int, error) {
	queues, err := b.c.Do(ctx, b.c.B().Smembers().Key(b.keys.Queues()).Build()).AsStrSlice()
	if err != nil {
		return 0, wrap("list queues", err)
	}
	if len(queues) == 0 {
		return 0, nil
	}
	cmds := make(rueidis.Commands, len(queues))
	for i, q := range queues {
		cmds[i] = b.c.B().Hgetall().Key(b.keys.QWip(q, proc)).Build()
	}
	var items []item
	for i, r := range b.c.DoMulti(ctx, cmds...) {
		m, err := r.AsStrMap()
		if err != nil {
			return 0, wrap("read in-flight jobs of "+proc, err)
		}
		for _, raw := range m {
			f := backend.DecodeFetched(queues[i], []byte(raw))
			f.Limited = true // a slot it may hold is released (limit_release.lua)
			it := item{f: f, outcome: backend.OutcomeRequeue, mask: 3}
			if recover && f.Malformed == nil {
				j := f.Job.Clone()
				j.Recoveries++
				if j.Recoveries >= backend.MaxRecoveries {
					j.MarkPoisonPill(now)
					it.outcome, it.job = backend.OutcomeDead, j
				} else {
					it.requeue = encode(j)
				}
			}
			items = append(items, it)
		}
	}
	if len(items) == 0 {
		return 0, nil
	}
	return len(items), b.acknowledge(ctx, proc, items, now)
}
