package metrics

import "testing"

func TestJobsLingeringGauge(t *testing.T) {
	c, reg := newTestCollector(nil, Options{})
	c.JobsLingering(3)
	if s := find(t, reg, "joblot_jobs_lingering"); s.value != 3 {
		t.Fatalf("joblot_jobs_lingering = %v, want 3", s.value)
	}
	c.JobsLingering(0)
	if s := find(t, reg, "joblot_jobs_lingering"); s.value != 0 {
		t.Fatalf("joblot_jobs_lingering = %v, want 0", s.value)
	}
}
