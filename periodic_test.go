package joblot

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/clock"
)

type tickArgs struct{}

func (tickArgs) Kind() string { return "tick" }

// @every instants are multiples of the duration since the Unix epoch,
// whatever time the computation starts from; cron instants are in UTC
// unless the schedule names a zone; prev and next agree.
func TestPeriodicScheduleInstants(t *testing.T) {
	at := time.Date(2030, 5, 6, 7, 8, 9, 123, time.FixedZone("x", 3600))
	for _, tc := range []struct {
		spec       string
		prev, next time.Time
	}{
		{"@every 5m", time.Date(2030, 5, 6, 6, 5, 0, 0, time.UTC), time.Date(2030, 5, 6, 6, 10, 0, 0, time.UTC)},
		{"@every 7s", time.Unix(at.Unix()/7*7, 0), time.Unix(at.Unix()/7*7+7, 0)},
		{"@hourly", time.Date(2030, 5, 6, 6, 0, 0, 0, time.UTC), time.Date(2030, 5, 6, 7, 0, 0, 0, time.UTC)},
		{"30 6 * * *", time.Date(2030, 5, 5, 6, 30, 0, 0, time.UTC), time.Date(2030, 5, 6, 6, 30, 0, 0, time.UTC)},
		{"CRON_TZ=America/New_York 0 3 * * *", time.Date(2030, 5, 5, 7, 0, 0, 0, time.UTC), time.Date(2030, 5, 6, 7, 0, 0, 0, time.UTC)}, // 3:00 EDT; at is 2:08 EDT
		{"0 0 1 1 *", time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		s, err := parseSchedule(tc.spec)
		if err != nil {
			t.Fatalf("%s: %v", tc.spec, err)
		}
		if p := s.prev(at); !p.Equal(tc.prev) {
			t.Errorf("%s: prev(%v) = %v, want %v", tc.spec, at, p, tc.prev)
		}
		if n := s.next(at); !n.Equal(tc.next) {
			t.Errorf("%s: next(%v) = %v, want %v", tc.spec, at, n, tc.next)
		}
		if p := s.prev(tc.prev); !p.Equal(tc.prev) {
			t.Errorf("%s: prev of an instant = %v, want the instant", tc.spec, p)
		}
		if n := s.next(tc.prev); !n.Equal(tc.next) {
			t.Errorf("%s: next(prev) = %v, want %v", tc.spec, n, tc.next)
		}
	}
}

func TestNewServerRefusesBadPeriodic(t *testing.T) {
	b := openBolt(t, backend.Limits{})
	ok := PeriodicJob{Name: "a", Schedule: "@every 1m", Args: tickArgs{}}
	for name, jobs := range map[string][]PeriodicJob{
		"bad expression":   {{Name: "a", Schedule: "* * *", Args: tickArgs{}}},
		"six fields":       {{Name: "a", Schedule: "0 * * * * *", Args: tickArgs{}}},
		"never fires":      {{Name: "a", Schedule: "0 0 30 2 *", Args: tickArgs{}}},
		"zone alone":       {{Name: "a", Schedule: "CRON_TZ=UTC", Args: tickArgs{}}},
		"unknown zone":     {{Name: "a", Schedule: "CRON_TZ=Nowhere/Land 0 3 * * *", Args: tickArgs{}}},
		"duplicate name":   {ok, ok},
		"no name":          {{Schedule: "@daily", Args: tickArgs{}}},
		"no args":          {{Name: "a", Schedule: "@daily"}},
		"unique":           {{Name: "a", Schedule: "@daily", Args: tickArgs{}, Opts: EnqueueOpts{Unique: &UniqueOpts{}}}},
		"delay":            {{Name: "a", Schedule: "@daily", Args: tickArgs{}, Opts: EnqueueOpts{Delay: time.Minute}}},
		"unknown policy":   {{Name: "a", Schedule: "@daily", Args: tickArgs{}, Missed: 7}},
		"empty schedule":   {{Name: "a", Args: tickArgs{}}},
		"garbage after tz": {{Name: "a", Schedule: "TZ=UTC nonsense", Args: tickArgs{}}},
	} {
		cfg := fastConfig(NewWorkers())
		cfg.Periodic = jobs
		if _, err := NewServer(b, cfg); !errors.Is(err, ErrBadPeriodic) {
			t.Errorf("%s: NewServer error %v, want ErrBadPeriodic", name, err)
		} else if !strings.Contains(err.Error(), `"a"`) && name != "no name" {
			t.Errorf("%s: error %q does not name the job", name, err)
		}
	}
	cfg := fastConfig(NewWorkers())
	cfg.Periodic = []PeriodicJob{ok, {Name: "b", Schedule: "CRON_TZ=Europe/Paris 30 3 * * 1-5", Args: tickArgs{}, Missed: MissedRunOnce}}
	if _, err := NewServer(b, cfg); err != nil {
		t.Fatalf("valid periodic jobs refused: %v", err)
	}
}

// periodicInstants returns the instants of the periodic jobs queued in
// queue, as their metadata names them, sorted.
func periodicInstants(t *testing.T, b backend.Backend, queue string) []time.Time {
	t.Helper()
	var out []time.Time
	for _, j := range listAll(t, b, backend.JobFilter{Set: backend.SetQueued, Queue: queue}) {
		at, err := time.Parse(time.RFC3339Nano, j.Meta[MetaPeriodicInstant])
		if err != nil {
			t.Fatalf("job %s: instant %q: %v", j.ID, j.Meta[MetaPeriodicInstant], err)
		}
		out = append(out, at)
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}

// On the injected clock: a new periodic job starts with its next instant,
// each on-time instant is enqueued once however many turns see
// it, and after a downtime the missed instants follow the policy: skip
// enqueues none of them, run once the latest.
func TestPeriodicMissedPolicy(t *testing.T) {
	for _, policy := range []MissedPolicy{MissedSkip, MissedRunOnce} {
		t.Run(policy.String(), func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b backend.Backend) {
				t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
				clk := clock.NewFake(t0.Add(100 * time.Millisecond))
				cfg := fastConfig(NewWorkers())
				cfg.Now = clk.Now
				cfg.PeriodicInterval = 50 * time.Millisecond // grace: 200ms on the fake clock
				cfg.Periodic = []PeriodicJob{{Name: "tick", Schedule: "@every 1s", Args: tickArgs{}, Opts: EnqueueOpts{Queue: "cron"}, Missed: policy}}
				s := startServer(t, b, cfg, func(s *Server) { s.periodic.testSignals.ran.Init(t) })
				turns := &s.periodic.testSignals.ran
				// Two turns that end after the clock moved: the second began
				// after it (the turns that ended before are drained).
				settle := func(at time.Time) {
					clk.Set(at)
					turns.Drain()
					for range 2 {
						turns.WaitOrTimeout()
					}
				}
				// New: t0 only marks where the job starts.
				settle(t0.Add(100 * time.Millisecond))
				settle(t0.Add(150 * time.Millisecond))
				if got := periodicInstants(t, b, "cron"); len(got) != 0 {
					t.Fatalf("a new periodic job enqueued %v before its next instant", got)
				}
				settle(t0.Add(time.Second + 100*time.Millisecond))
				settle(t0.Add(time.Second + 150*time.Millisecond))
				want := []time.Time{t0.Add(time.Second)}
				if got := periodicInstants(t, b, "cron"); !slices.EqualFunc(got, want, time.Time.Equal) {
					t.Fatalf("after its first instant: %v, want %v", got, want)
				}
				// Down from 1.1s to 10.1s: 2s..9s are missed, 10s is on time.
				settle(t0.Add(10*time.Second + 100*time.Millisecond))
				if policy == MissedRunOnce {
					want = append(want, t0.Add(9*time.Second))
				}
				want = append(want, t0.Add(10*time.Second))
				settle(t0.Add(10*time.Second + 150*time.Millisecond))
				if got := periodicInstants(t, b, "cron"); !slices.EqualFunc(got, want, time.Time.Equal) {
					t.Fatalf("instants enqueued = %v, want %v", got, want)
				}
				st, err := b.ListPeriodic(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if len(st) != 1 || st[0].Name != "tick" || st[0].Queue != "cron" || st[0].Kind != "tick" || st[0].Schedule != "@every 1s" ||
					st[0].Missed != policy.String() || !st[0].Last.Equal(t0.Add(10*time.Second)) {
					t.Fatalf("ListPeriodic = %+v", st)
				}
			})
		})
	}
}

// A deploy that changes the configuration: the leader's definitions
// replace the stored ones, and a job it no longer has is not listed.
func TestPeriodicLeaderConfigurationWins(t *testing.T) {
	b := openBolt(t, backend.Limits{})
	if err := b.SetPeriodic(context.Background(), []backend.PeriodicDef{{Name: "old", Schedule: "@daily", Queue: "cron", Kind: "tick"}, {Name: "tick", Schedule: "@hourly", Queue: "cron", Kind: "tick"}}); err != nil {
		t.Fatal(err)
	}
	cfg := fastConfig(NewWorkers())
	cfg.PeriodicInterval = 20 * time.Millisecond
	cfg.Periodic = []PeriodicJob{{Name: "tick", Schedule: "@every 1h", Args: tickArgs{}, Opts: EnqueueOpts{Queue: "cron"}}}
	startServer(t, b, cfg)
	waitFor(t, "the leader's definitions", func() bool {
		st, err := b.ListPeriodic(context.Background())
		return err == nil && len(st) == 1 && st[0].Name == "tick" && st[0].Schedule == "@every 1h"
	})
}

// A server that stops gives the periodic lease up: another leads at its
// next turn, not a lease's TTL later.
func TestPeriodicStopGivesLeaseUp(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		cfg := fastConfig(NewWorkers())
		cfg.PeriodicInterval = time.Hour // the lease would last 3 hours
		cfg.Periodic = []PeriodicJob{{Name: "tick", Schedule: "@hourly", Args: tickArgs{}}}
		s := startServer(t, b, cfg, func(s *Server) { s.periodic.testSignals.ran.Init(t) })
		s.periodic.testSignals.ran.WaitOrTimeout() // the first turn
		if l, err := b.Lease(context.Background(), backend.LeaseParams{Name: periodicLease, Holder: "probe", TTL: time.Hour}); err != nil || l.Held {
			t.Fatalf("probe took the lease of a leading server: %v, %v", l.Held, err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := s.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if l, err := b.Lease(context.Background(), backend.LeaseParams{Name: periodicLease, Holder: "probe", TTL: time.Hour}); err != nil || !l.Held {
			t.Fatalf("the stopped server kept the periodic lease: %v, %v", l.Held, err)
		}
	})
}
