package metrics

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/bolt"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/redistest"
)

// TestLimitGauges: a refresh reports a limited queue's limit, its groups'
// slots held and jobs waiting; a group (user data) is escaped.
func TestLimitGauges(t *testing.T) {
	runLimitTest := func(t *testing.T, b backend.Backend) {
		ctx := context.Background()
		if _, err := b.SetLimits(ctx, backend.SetLimitsParams{Queue: "mail", Limit: backend.QueueLimit{Concurrency: 1, Rate: 30, Per: time.Minute, By: backend.LimitByKey}}); err != nil {
			t.Fatal(err)
		}
		var jobs []*backend.Job
		for _, key := range []string{"acme", "acme", "acme", "bad\x1b[2J"} {
			j := job("mail")
			j.SetLimitKey(key)
			jobs = append(jobs, j)
		}
		if _, err := b.Enqueue(ctx, jobs); err != nil {
			t.Fatal(err)
		}
		if res, err := b.Fetch(ctx, backend.FetchParams{Proc: "p", Queues: []string{"mail"}, Max: 10}); err != nil || len(res.Jobs) != 2 {
			t.Fatalf("fetched %d, %v; want 2", len(res.Jobs), err)
		}
		c, reg := newTestCollector(b, Options{})
		if err := c.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		if v := find(t, reg, "joblot_queue_limit", "queue", "mail", "limit", "concurrency").value; v != 1 {
			t.Errorf("concurrency limit %v, want 1", v)
		}
		if v := find(t, reg, "joblot_queue_limit", "queue", "mail", "limit", "rate_per_second").value; v != 0.5 {
			t.Errorf("rate limit %v/s, want 0.5", v)
		}
		if v := find(t, reg, "joblot_queue_limit_groups", "queue", "mail").value; v != 2 {
			t.Errorf("groups %v, want 2", v)
		}
		if v := find(t, reg, "joblot_queue_limit_running", "queue", "mail", "group", "acme").value; v != 1 {
			t.Errorf("acme running %v, want 1", v)
		}
		if v := find(t, reg, "joblot_queue_limit_waiting", "queue", "mail", "group", "acme").value; v != 2 {
			t.Errorf("acme waiting %v, want 2", v)
		}
		if v := find(t, reg, "joblot_queue_limit_running", "queue", "mail", "group", `bad\x1b[2J`).value; v != 1 {
			t.Errorf("escaped group running %v, want 1", v)
		}
		if out := scrape(t, c); strings.Contains(out, "\x1b") {
			t.Errorf("exposition holds a raw escape")
		}
	}
	t.Run("bolt", func(t *testing.T) { runLimitTest(t, openBoltForTest(t)) })
	t.Run("redis", func(t *testing.T) {
		b, err := redis.Open(context.Background(), redis.Options{URL: redistest.Start(t).URL, Logger: quietLogger()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		runLimitTest(t, b)
	})
}

// TestLimitSeriesCapped: however many groups the stats hold, the limit
// series stay under maxLimitSeries, the rest summed under OverflowLabel.
func TestLimitSeriesCapped(t *testing.T) {
	st := &backend.Stats{}
	for q := range 30 {
		ls := &backend.LimitStats{Limit: backend.QueueLimit{Concurrency: 1, By: backend.LimitByKey}, GroupsTotal: 1000}
		for g := range backend.MaxLimitGroupsShown {
			ls.Groups = append(ls.Groups, backend.LimitGroupStats{Group: fmt.Sprintf("customer-%d-%d", q, g), Running: 1, Waiting: 2})
		}
		st.Queues = append(st.Queues, backend.QueueStats{Name: fmt.Sprintf("q%02d", q), Limit: ls})
	}
	m := &limitMetrics{}
	m.setStats(st)
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	running := gather(t, reg, "joblot_queue_limit_running")
	if len(running) > maxLimitSeries {
		t.Fatalf("%d running series, cap %d", len(running), maxLimitSeries)
	}
	var total float64
	overflow := false
	for _, s := range running {
		total += s.value
		overflow = overflow || s.labels["group"] == OverflowLabel
	}
	if !overflow {
		t.Fatalf("no %s group among %d series", OverflowLabel, len(running))
	}
	// Every queue reached before the cap keeps all its slots counted.
	if want := float64(10 * backend.MaxLimitGroupsShown); total < want {
		t.Fatalf("running summed %v over the series, want at least %v", total, want)
	}
}

func openBoltForTest(t *testing.T) backend.Backend {
	t.Helper()
	b, err := bolt.Open(filepath.Join(t.TempDir(), "joblot.db"), bolt.Options{NoSync: true, Logger: quietLogger()})
	if err != nil {
		t.Fatalf("bolt.Open: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}
