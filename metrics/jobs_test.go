package metrics

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

func TestJobDoneCountsByKindQueueOutcome(t *testing.T) {
	c, reg := newTestCollector(nil, Options{})
	for range 3 {
		c.JobDone("email", "default", backend.OutcomeSucceeded, 20*time.Millisecond)
	}
	c.JobDone("email", "default", backend.OutcomeRetry, 2*time.Second)
	c.JobDone("report", "critical", backend.OutcomeDead, time.Second)
	c.JobDone("report", "critical", backend.OutcomeRequeue, 0)
	c.JobDone("report", "critical", backend.OutcomeCancelled, 0)

	for _, w := range []struct {
		kind, queue, outcome string
		want                 float64
	}{
		{"email", "default", "succeeded", 3},
		{"email", "default", "retry", 1},
		{"email", "default", "dead", 0}, // created at zero with the pair
		{"email", "default", "discarded", 0},
		{"email", "default", "requeue", 0},
		{"email", "default", "cancelled", 0},
		{"report", "critical", "dead", 1},
		{"report", "critical", "requeue", 1},
		{"report", "critical", "cancelled", 1},
		{"report", "critical", "succeeded", 0},
	} {
		got := find(t, reg, "joblot_jobs_total", "kind", w.kind, "queue", w.queue, "outcome", w.outcome).value
		if got != w.want {
			t.Errorf("joblot_jobs_total{%s,%s,%s} = %v, want %v", w.kind, w.queue, w.outcome, got, w.want)
		}
	}
	if n := len(gather(t, reg, "joblot_jobs_total")); n != 14 {
		t.Errorf("joblot_jobs_total has %d series, want 2 pairs × 7 outcomes", n)
	}

	// Durations: attempts that ran, not requeued or cancelled jobs.
	email := find(t, reg, "joblot_job_duration_seconds", "kind", "email", "queue", "default")
	if email.value != 4 || !near(email.sum, 3*0.02+2) {
		t.Errorf("email durations: count %v sum %v, want 4 and 2.06", email.value, email.sum)
	}
	report := find(t, reg, "joblot_job_duration_seconds", "kind", "report", "queue", "critical")
	if report.value != 1 || !near(report.sum, 1) {
		t.Errorf("report durations: count %v sum %v, want 1 and 1", report.value, report.sum)
	}
}

func TestJobDoneCapsSeries(t *testing.T) {
	c, reg := newTestCollector(nil, Options{MaxSeries: 2})
	c.JobDone("a", "q", backend.OutcomeSucceeded, 0)
	c.JobDone("b", "q", backend.OutcomeSucceeded, 0)
	c.JobDone("c", "q", backend.OutcomeSucceeded, 0)
	c.JobDone("d", "other-q", backend.OutcomeDead, 0)
	c.JobDone("a", "q", backend.OutcomeSucceeded, 0) // known pairs keep their series

	if got := find(t, reg, "joblot_jobs_total", "kind", "a", "queue", "q", "outcome", "succeeded").value; got != 2 {
		t.Errorf("a/q succeeded = %v, want 2", got)
	}
	if got := find(t, reg, "joblot_jobs_total", "kind", OverflowLabel, "queue", OverflowLabel, "outcome", "succeeded").value; got != 1 {
		t.Errorf("overflow succeeded = %v, want 1 (job c)", got)
	}
	if got := find(t, reg, "joblot_jobs_total", "kind", OverflowLabel, "queue", OverflowLabel, "outcome", "dead").value; got != 1 {
		t.Errorf("overflow dead = %v, want 1 (job d)", got)
	}
	if _, ok := lookup(t, reg, "joblot_jobs_total", "kind", "c", "queue", "q", "outcome", "succeeded"); ok {
		t.Error("pair c/q got its own series beyond MaxSeries")
	}
	if n := len(gather(t, reg, "joblot_jobs_total")); n != 3*7 {
		t.Errorf("joblot_jobs_total has %d series, want 3 pairs (2 + overflow) × 7", n)
	}
}

func TestJobDoneConcurrent(t *testing.T) {
	c, reg := newTestCollector(nil, Options{})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				c.JobDone([]string{"a", "b"}[(g+i)%2], "default", backend.OutcomeSucceeded, time.Millisecond)
			}
		})
	}
	wg.Wait()
	a := find(t, reg, "joblot_jobs_total", "kind", "a", "queue", "default", "outcome", "succeeded").value
	b := find(t, reg, "joblot_jobs_total", "kind", "b", "queue", "default", "outcome", "succeeded").value
	if a != 4000 || b != 4000 {
		t.Fatalf("counted a=%v b=%v, want 4000 each", a, b)
	}
}

func TestHandlerServesDocumentedMetrics(t *testing.T) {
	c, _ := newTestCollector(nil, Options{})
	c.JobDone("email", "default", backend.OutcomeSucceeded, time.Millisecond)
	c.SetMemoryLevel(2)
	body := scrape(t, c)
	for _, want := range []string{
		"# HELP joblot_jobs_total ",
		"# TYPE joblot_job_duration_seconds histogram",
		`joblot_jobs_total{kind="email",outcome="succeeded",queue="default"} 1`,
		"joblot_memory_level 2",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %q:\n%s", want, body)
		}
	}
}

func near(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }

func TestDefaultRegistryServesRuntimeMetrics(t *testing.T) {
	c := New(nil, Options{Logger: quietLogger()})
	c.JobDone("email", "default", backend.OutcomeSucceeded, time.Millisecond)
	if err := c.Refresh(t.Context()); err != nil {
		t.Fatalf("Refresh without a store: %v", err)
	}
	body := scrape(t, c)
	for _, want := range []string{"go_goroutines ", `joblot_jobs_total{kind="email",outcome="succeeded",queue="default"} 1`} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
}
