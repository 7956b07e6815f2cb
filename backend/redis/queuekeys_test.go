package redis

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/joblot/joblot/internal/rediskeys"
)

// TestKeyCacheNamesWhatTheLayoutNames: every cached name is the layout's,
// for each process and hour asked in turn, and the cache stops growing at
// keyCacheMax while still naming the rest.
func TestKeyCacheNamesWhatTheLayoutNames(t *testing.T) {
	l, err := rediskeys.New("app")
	if err != nil {
		t.Fatal(err)
	}
	c := newKeyCache(l)
	check := func(q, proc string, now time.Time) {
		t.Helper()
		k := c.queue(q)
		got := []string{k.jobs, k.sched, k.retry, k.dead, k.stats, k.bell, k.paused, k.uniq, k.cancel, k.limit, k.prefix}
		want := []string{l.QJobs(q), l.QSched(q), l.QRetry(q), l.QDead(q), l.QStats(q), l.QBell(q), l.QPaused(q), l.QUniq(q), l.QCancel(q), l.QLimit(q), l.QPrefix(q)}
		if !slices.Equal(got, want) {
			t.Fatalf("queue %q: got %q, want %q", q, got, want)
		}
		if want := []string{l.QBell(q), l.QPaused(q)}; !slices.Equal(k.ring, want) {
			t.Fatalf("ring keys %q, want %q", k.ring, want)
		}
		p := k.forProc(proc)
		if p.wip != l.QWip(q, proc) || p.wake != l.QWake(q, proc) {
			t.Fatalf("proc %q: wip %q wake %q", proc, p.wip, p.wake)
		}
		if want := []string{l.QJobs(q), l.QWip(q, proc), l.QPaused(q), l.QBell(q), l.QCancel(q), l.QLimit(q)}; !slices.Equal(p.fetch, want) {
			t.Fatalf("fetch keys %q, want %q", p.fetch, want)
		}
		want = []string{l.QWip(q, proc), l.QJobs(q), l.QRetry(q), l.QDead(q), l.QStats(q), l.QDay(q, now.UTC().Format("2006-01-02")),
			l.QBell(q), l.QSched(q), l.QUniq(q), l.QMinutes(q, now.UTC().Hour())}
		for range 2 { // made, then cached
			got := k.forComplete(proc, now)
			if !slices.Equal(got, want) {
				t.Fatalf("complete keys %q, want %q", got, want)
			}
			if cap(got) != len(got) { // else withErrorGroups's append would write into the cached array
				t.Fatalf("complete keys have capacity %d beyond their %d", cap(got), len(got))
			}
		}
		h := k.atHour(now)
		utc := now.UTC()
		if h.day != l.QDay(q, utc.Format("2006-01-02")) || h.minutes != l.QMinutes(q, utc.Hour()) {
			t.Fatalf("at %v: day %q minutes %q", now, h.day, h.minutes)
		}
	}
	base := time.Date(2026, 12, 31, 23, 59, 59, 0, time.FixedZone("x", -5*3600))
	for i, proc := range []string{"p1", "p2", "p1"} {
		for _, d := range []time.Duration{0, time.Second, time.Hour, 25 * time.Hour} {
			check("default", proc, base.Add(d+time.Duration(i)*time.Minute))
		}
	}
	check("q", "p1", time.Unix(-1, 0)) // before 1970: the hour floors
	check("q", "p1", time.Unix(-3600, 0))
	for i := range keyCacheMax + 10 {
		check(fmt.Sprintf("q%d", i), "p", base)
	}
	if n := len(c.m); n != keyCacheMax {
		t.Fatalf("cache holds %d queues, want at most %d", n, keyCacheMax)
	}
}
