package joblot

import (
	"context"
	"log/slog"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/testsignal"
)

// dutiesLease names the lease the background duties run under.
const dutiesLease = "duties"

// The duties lease lasts dutiesLeaseRounds poll rounds and its holder
// renews it every dutiesRenewRounds rounds: two rounds of margin for a
// slow store or a late tick.
const (
	dutiesLeaseRounds = 4
	dutiesRenewRounds = 2
)

// duty is one background duty: the due-job mover (mover.go), the recoverer
// (recoverer.go), the callback forwarder (forwarder.go) and the dead
// trimmer (deadtrimmer.go). The duties runner runs them in turn, each at
// most once per its interval, while this process holds the duties lease.
type duty interface {
	// name names the duty in logs.
	name() string
	// interval is how often the duty runs, on the wall clock, rounded up
	// to the runner's PollInterval; 0: on every round.
	interval() time.Duration
	// run does the duty once; now is the injected clock's time, what the
	// duty decides by (which jobs are due, which leases expired).
	run(ctx context.Context, now time.Time) error
}

// duties runs the background duties while this process holds the duties
// lease, one round per PollInterval, so that one process does each at a
// time however many run; it gives the lease up when the server goes quiet,
// so that another process takes the duties over at once.
type duties struct {
	cfg     ServerConfig
	backend backend.Backend
	logger  *slog.Logger
	lease   *processLease
	quietCh <-chan struct{} // closed when the server goes quiet
	isQuiet func() bool
	list    []duty

	cancel context.CancelFunc
	done   chan struct{}

	testSignals dutiesTestSignals
}

// dutiesTestSignals tell tests what the duties runner does.
type dutiesTestSignals struct {
	// ran: a round of duties ran under the lease.
	ran testsignal.TestSignal[struct{}]
}

func newDuties(cfg ServerConfig, b backend.Backend, logger *slog.Logger, lease *processLease, quietCh <-chan struct{}, isQuiet func() bool) *duties {
	return &duties{
		cfg: cfg, backend: b, logger: logger, lease: lease, quietCh: quietCh, isQuiet: isQuiet,
		list: []duty{
			dueMover{backend: b},
			recoverer{backend: b, logger: logger, every: cfg.RecoverInterval},
			forwarder{backend: b, every: cfg.ForwardInterval},
			deadTrimmer{backend: b, logger: logger, every: cfg.TrimInterval},
		},
	}
}

// start starts the runner's loop.
func (d *duties) start() {
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel, d.done = cancel, make(chan struct{})
	go d.loop(ctx)
}

// stop ends the loop and waits for it; a duty under way is cancelled.
func (d *duties) stop() {
	d.cancel()
	<-d.done
}

func (d *duties) loop(ctx context.Context) {
	defer close(d.done)
	leaseTTL := dutiesLeaseRounds * d.cfg.PollInterval
	last := make([]time.Time, len(d.list)) // wall clock
	var renewed time.Time                  // wall clock of the last renewal; zero: not held
	t := time.NewTicker(d.cfg.PollInterval)
	defer t.Stop()
	for round := 0; ; round++ {
		select {
		case <-ctx.Done():
			return
		case <-d.quietCh:
			d.giveUp(ctx)
			return
		case <-t.C:
		}
		if d.isQuiet() {
			continue // the quietCh case gives the lease up
		}
		// A holder renews every dutiesRenewRounds rounds, half the calls of
		// renewing every round, and runs the duties in between only while
		// at least a round of its lease is left. A process without the
		// lease asks every round, so it takes over soon after it lapses.
		if renewed.IsZero() || round%dutiesRenewRounds == 0 || time.Since(renewed) >= leaseTTL-2*d.cfg.PollInterval {
			at := time.Now()
			lease, err := d.backend.Lease(ctx, backend.LeaseParams{Name: dutiesLease, Holder: d.lease.ID(), TTL: leaseTTL})
			if err != nil || !lease.Held {
				renewed = time.Time{}
				if err != nil && ctx.Err() == nil {
					d.logger.Warn("joblot: duties lease", "err", err)
				}
				continue
			}
			renewed = at
		}
		// now is what the duties decide by; wall only paces the less
		// frequent duties, so a fake clock that stands still does not
		// stop them.
		now, wall := d.cfg.Now(), time.Now()
		for i, dt := range d.list {
			if wall.Sub(last[i]) < dt.interval() {
				continue
			}
			last[i] = wall
			if err := dt.run(ctx, now); err != nil && ctx.Err() == nil {
				d.logger.Warn("joblot: duty failed", "duty", dt.name(), "err", err)
			}
		}
		d.testSignals.ran.Signal(struct{}{})
	}
}

// giveUp releases the duties lease if this process holds it, so that
// another process runs the duties without waiting for it to expire.
func (d *duties) giveUp(ctx context.Context) {
	if _, err := d.backend.Lease(ctx, backend.LeaseParams{Name: dutiesLease, Holder: d.lease.ID()}); err != nil && ctx.Err() == nil {
		d.logger.Warn("joblot: giving up the duties lease failed; it expires on its own", "err", err)
	}
}
