package joblot

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/testsignal"
)

// MissedPolicy says what a periodic job does with the instants that passed
// unenqueued for 4 × ServerConfig.PeriodicInterval or more (downtime, a
// stalled leader).
type MissedPolicy uint8

const (
	// MissedSkip (the default) enqueues nothing for missed instants: the
	// job runs again at its next instant.
	MissedSkip MissedPolicy = iota
	// MissedRunOnce enqueues one job for the latest missed instant, however
	// many were missed.
	MissedRunOnce
)

// String names the policy as `joblot periodic list` shows it.
func (m MissedPolicy) String() string {
	if m == MissedRunOnce {
		return "run_once"
	}
	return "skip"
}

// PeriodicJob is a job a server enqueues on a schedule. Of all the servers
// on one store, only the one holding the periodic lease enqueues; the store
// keeps each periodic job's last instant and records an instant only when it
// is later (backend.FirePeriodic), so no instant is enqueued twice, whoever
// leads.
type PeriodicJob struct {
	// Name identifies the job across deploys: its last instant is kept
	// under it. Required, unique in ServerConfig.Periodic.
	Name string
	// Schedule is a standard 5-field cron expression ("30 3 * * *"), a
	// descriptor (@yearly, @monthly, @weekly, @daily, @hourly) or
	// "@every <duration>" (whole seconds, at least 1s), optionally after
	// "CRON_TZ=<zone> " (or "TZ=<zone> "). Cron times are in UTC unless a
	// zone is given, and @every instants are multiples of the duration
	// since the Unix epoch, so every server computes the same instants.
	Schedule string
	// Args is the job enqueued at each instant.
	Args JobArgs
	// Opts are its enqueue options (queue, retries, timeout, metadata);
	// Delay, RunAt and Unique are refused: the instant decides when the
	// job runs, and the store's record of the instant already keeps it
	// from running twice.
	Opts EnqueueOpts
	// Missed is the policy for instants that passed unenqueued (default
	// MissedSkip).
	Missed MissedPolicy
}

// Periodic job metadata: every enqueued periodic job carries its name and
// the instant it was enqueued for (RFC 3339, UTC), in Job.Meta.
const (
	MetaPeriodicName    = "joblot.periodic"
	MetaPeriodicInstant = "joblot.periodic_at"
)

// periodicLease names the lease the periodic enqueuer runs under.
const periodicLease = "periodic"

// Periodic scheduling defaults.
const (
	// DefaultPeriodicInterval is how often the leader looks for due
	// instants: a periodic job is enqueued up to this late.
	DefaultPeriodicInterval = time.Second
	// periodicGraceTicks: an instant is on time (enqueued, whatever the
	// policy) while it is less than this many intervals old; older ones
	// are missed. It covers the lease's TTL (3 intervals) and a tick, so that
	// a leader change alone misses nothing.
	periodicGraceTicks = 4
	// periodicLeaseTicks is the lease's TTL in intervals.
	periodicLeaseTicks = 3
)

// ErrBadPeriodic is wrapped by NewServer's errors about ServerConfig.Periodic.
var ErrBadPeriodic = errors.New("joblot: bad periodic job")

// schedule computes the instants of one periodic job.
type schedule struct {
	every time.Duration // > 0: epoch-aligned @every
	cron  cron.Schedule // otherwise
}

// cronParser accepts what PeriodicJob.Schedule documents.
func cronParser() cron.Parser {
	return cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
}

// parseSchedule parses spec, refusing one that never fires.
func parseSchedule(spec string) (sch schedule, err error) {
	// cron v3.0.1 slices past the end of "CRON_TZ=UTC" with nothing after
	// the zone: refuse it before the parser panics.
	if strings.HasPrefix(spec, "TZ=") || strings.HasPrefix(spec, "CRON_TZ=") {
		if !strings.Contains(spec, " ") {
			return sch, fmt.Errorf("schedule %q: a time zone needs an expression after it", spec)
		}
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("schedule %q: %v", spec, r)
		}
	}()
	c, err := cronParser().Parse(spec)
	if err != nil {
		return sch, fmt.Errorf("schedule %q: %w", spec, err)
	}
	if e, ok := c.(cron.ConstantDelaySchedule); ok {
		sch.every = e.Delay
	} else {
		sch.cron = c
	}
	if sch.next(time.Unix(0, 0)).IsZero() && sch.next(time.Now()).IsZero() {
		return sch, fmt.Errorf("schedule %q never fires", spec)
	}
	return sch, nil
}

// next returns the first instant after t, zero if there is none within the
// cron library's five-year horizon.
func (s schedule) next(t time.Time) time.Time {
	if s.every > 0 {
		d := int64(s.every)
		n := t.UnixNano()
		k := n / d
		if n < 0 && n%d != 0 {
			k-- // floor
		}
		return time.Unix(0, (k+1)*d).UTC()
	}
	return s.cron.Next(t.UTC()) // UTC unless the schedule names its zone
}

// prev returns the latest instant at or before t, zero if none is found in
// the ten years before t. It widens a window back from t until the window
// holds an instant, then walks to the window's last one: few steps whatever
// the schedule.
func (s schedule) prev(t time.Time) time.Time {
	if s.every > 0 {
		return s.next(t).Add(-s.every)
	}
	for w := time.Second; w <= 10*365*24*time.Hour; w *= 2 {
		n := s.next(t.Add(-w))
		if n.IsZero() || n.After(t) {
			continue
		}
		for {
			m := s.next(n)
			if m.IsZero() || m.After(t) {
				return n
			}
			n = m
		}
	}
	return time.Time{}
}

// NextPeriodicInstant returns the first instant of schedule (as
// PeriodicJob.Schedule) after t, zero if it has none in the next five
// years. `joblot periodic list` uses it.
func NextPeriodicInstant(spec string, t time.Time) (time.Time, error) {
	s, err := parseSchedule(spec)
	if err != nil {
		return time.Time{}, err
	}
	return s.next(t), nil
}

// periodicEntry is one configured periodic job, validated.
type periodicEntry struct {
	PeriodicJob
	sch   schedule
	queue string
}

// periodicEnqueuer enqueues the periodic jobs while its server holds the
// periodic lease.
type periodicEnqueuer struct {
	cfg     ServerConfig
	backend backend.Backend
	logger  *slog.Logger
	client  *Client
	lease   *processLease
	quietCh <-chan struct{} // closed when the server goes quiet
	isQuiet func() bool
	entries []*periodicEntry
	// interval paces the loop; grace is how old an instant may be and
	// still count as on time.
	interval, grace time.Duration
	// last caches each entry's stored last instant (by name) while the
	// lease is held: the store's answers keep it current, and it is
	// dropped when the lease is, since another leader may move it.
	last map[string]time.Time

	cancel context.CancelFunc
	done   chan struct{}

	testSignals periodicTestSignals
}

// periodicTestSignals tell tests what the periodic enqueuer does.
type periodicTestSignals struct {
	// ran: a turn as leader finished.
	ran testsignal.TestSignal[struct{}]
}

// newPeriodic validates the server's periodic jobs (cfg.Periodic) and
// returns their enqueuer, nil if there are none. The Server sets the rest
// of its fields.
func newPeriodic(cfg ServerConfig) (*periodicEnqueuer, error) {
	jobs, interval := cfg.Periodic, cfg.PeriodicInterval
	if len(jobs) == 0 {
		return nil, nil
	}
	p := &periodicEnqueuer{cfg: cfg, interval: interval, grace: periodicGraceTicks * interval}
	seen := map[string]bool{}
	for i, j := range jobs {
		if j.Name == "" {
			return nil, fmt.Errorf("%w: Periodic[%d] has no name", ErrBadPeriodic, i)
		}
		if seen[j.Name] {
			return nil, fmt.Errorf("%w: two periodic jobs are named %q", ErrBadPeriodic, j.Name)
		}
		seen[j.Name] = true
		sch, err := parseSchedule(j.Schedule)
		if err != nil {
			return nil, fmt.Errorf("%w %q: %w", ErrBadPeriodic, j.Name, err)
		}
		if j.Missed > MissedRunOnce {
			return nil, fmt.Errorf("%w %q: unknown missed policy %d", ErrBadPeriodic, j.Name, j.Missed)
		}
		e := &periodicEntry{PeriodicJob: j, sch: sch}
		o, err := e.opts()
		if err == nil {
			_, err = json.Marshal(j.Args)
		}
		if err != nil {
			return nil, fmt.Errorf("%w %q: %w", ErrBadPeriodic, j.Name, err)
		}
		e.queue = cmp.Or(o.Queue, DefaultQueue)
		p.entries = append(p.entries, e)
	}
	return p, nil
}

// opts are e's options merged with its args' own, checked.
func (e *periodicEntry) opts() (EnqueueOpts, error) {
	if e.Args == nil || e.Args.Kind() == "" {
		return EnqueueOpts{}, errors.New("Args is nil or its Kind is empty")
	}
	o := e.Opts
	if wo, ok := e.Args.(JobArgsWithOpts); ok {
		o = mergeOpts(o, wo.EnqueueOpts())
	}
	if o.Delay != 0 || !o.RunAt.IsZero() || o.Unique != nil {
		return o, errors.New("Delay, RunAt and Unique are not for periodic jobs")
	}
	return o, nil
}

// build returns the job to enqueue for instant at, decided at now (its
// CreatedAt), through c's enqueue middleware.
func (e *periodicEntry) build(ctx context.Context, c *Client, at, now time.Time) (*backend.Job, error) {
	o, err := e.opts()
	if err != nil {
		return nil, err
	}
	o.Meta = maps.Clone(o.Meta)
	if o.Meta == nil {
		o.Meta = make(map[string]string, 2)
	}
	o.Meta[MetaPeriodicName] = e.Name
	o.Meta[MetaPeriodicInstant] = at.UTC().Format(time.RFC3339Nano)
	return c.buildJob(ctx, EnqueueParams{Args: e.Args, Opts: o}, now)
}

// defs are the definitions the leader writes for `joblot periodic list`.
func (p *periodicEnqueuer) defs() []backend.PeriodicDef {
	out := make([]backend.PeriodicDef, len(p.entries))
	for i, e := range p.entries {
		out[i] = backend.PeriodicDef{Name: e.Name, Schedule: e.Schedule, Queue: e.queue, Kind: e.Args.Kind(), Missed: e.Missed.String()}
	}
	return out
}

// start starts the enqueuer's loop.
func (p *periodicEnqueuer) start() {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel, p.done = cancel, make(chan struct{})
	go p.run(ctx)
}

// stop ends the loop (giving the lease up) and waits for it.
func (p *periodicEnqueuer) stop() {
	p.cancel()
	<-p.done
}

// run enqueues due instants while the server holds the periodic lease,
// until the server stops or goes quiet; then it gives the lease up.
func (p *periodicEnqueuer) run(ctx context.Context) {
	defer close(p.done)
	t := time.NewTicker(p.interval)
	defer t.Stop()
	for first := true; ; first = false {
		if !first { // the first turn runs at once
			select {
			case <-ctx.Done():
				p.giveUp(ctx)
				return
			case <-p.quietCh:
				p.giveUp(ctx)
				return
			case <-t.C:
			}
		}
		if p.isQuiet() {
			continue // the quietCh case gives the lease up
		}
		lease, err := p.backend.Lease(ctx, backend.LeaseParams{Name: periodicLease, Holder: p.lease.ID(), TTL: periodicLeaseTicks * p.interval})
		if err != nil || !lease.Held {
			if err != nil && ctx.Err() == nil {
				p.logger.Warn("joblot: periodic lease", "err", err)
			}
			p.last = nil
			continue
		}
		if p.last == nil && !p.lead(ctx) {
			continue
		}
		now := p.cfg.Now()
		for _, e := range p.entries {
			if err := p.tick(ctx, e, now); err != nil && ctx.Err() == nil {
				p.logger.Warn("joblot: periodic job", "name", e.Name, "err", err)
			}
		}
		p.testSignals.ran.Signal(struct{}{})
	}
}

// giveUp releases the periodic lease, if this server holds it, so that
// another server leads at its next tick instead of after the lease's TTL.
func (p *periodicEnqueuer) giveUp(ctx context.Context) {
	gctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), p.interval)
	defer cancel()
	_, _ = p.backend.Lease(gctx, backend.LeaseParams{Name: periodicLease, Holder: p.lease.ID()})
}

// lead starts a term as leader: it writes this server's definitions (the
// current leader's configuration wins) and reads the stored instants.
func (p *periodicEnqueuer) lead(ctx context.Context) bool {
	if err := p.backend.SetPeriodic(ctx, p.defs()); err != nil {
		p.logger.Warn("joblot: write periodic definitions", "err", err)
		return false
	}
	states, err := p.backend.ListPeriodic(ctx)
	if err != nil {
		p.logger.Warn("joblot: read periodic instants", "err", err)
		return false
	}
	p.last = make(map[string]time.Time, len(p.entries))
	for _, st := range states {
		p.last[st.Name] = st.Last
	}
	return true
}

// tick handles entry e at now. The instants after the stored one split in
// two: those less than grace old are on time and each is enqueued; the
// older ones were missed, and only the latest of them matters:
// MissedRunOnce enqueues it, MissedSkip records it without a job. A job
// never recorded before has missed nothing: its latest instant is recorded,
// without a job, as where it starts. The store records an instant only if it is later than the
// stored one, so a stale cache or a second leader writes nothing twice.
func (p *periodicEnqueuer) tick(ctx context.Context, e *periodicEntry, now time.Time) error {
	last := p.last[e.Name]
	if last.IsZero() {
		// Never recorded: nothing was missed, and it starts with its next
		// instant rather than with those of the grace before it.
		if b := e.sch.prev(now); !b.IsZero() {
			return p.fire(ctx, e, b, now, false)
		}
		return nil
	}
	edge := now.Add(-p.grace) // instants after it are on time
	// Nothing was missed when the stored instant's successor is on time:
	// the common case, which spares the search back from edge.
	if n := e.sch.next(last); !n.IsZero() && !n.After(edge) {
		if m := e.sch.prev(edge); !m.IsZero() && m.After(last) {
			if err := p.fire(ctx, e, m, now, e.Missed == MissedRunOnce); err != nil {
				return err
			}
		}
	}
	from := edge
	if p.last[e.Name].After(from) {
		from = p.last[e.Name]
	}
	for at := e.sch.next(from); !at.IsZero() && !at.After(now); at = e.sch.next(at) {
		if err := p.fire(ctx, e, at, now, true); err != nil {
			return err
		}
	}
	return nil
}

// fire records instant at of e, with its job if withJob, as decided at
// now, and keeps what the store answered.
func (p *periodicEnqueuer) fire(ctx context.Context, e *periodicEntry, at, now time.Time, withJob bool) error {
	params := backend.FirePeriodicParams{Name: e.Name, Queue: e.queue, Instant: at}
	if withJob {
		job, err := e.build(ctx, p.client, at, now)
		if err != nil {
			return err
		}
		params.Job = job
	}
	res, err := p.backend.FirePeriodic(ctx, params)
	if err != nil {
		return fmt.Errorf("record instant %s: %w", at.UTC().Format(time.RFC3339), err)
	}
	last := at
	if !res.Recorded && res.Previous.After(at) {
		last = res.Previous
	}
	if last.After(p.last[e.Name]) {
		p.last[e.Name] = last
	}
	if res.Recorded && params.Job != nil {
		p.logger.Debug("joblot: periodic job enqueued", "name", e.Name, "instant", at, "job", params.Job.ID)
	}
	return nil
}
