package benchrun

import (
	"testing"
	"time"
)

// TestScheduleOffersJobsAtTheirPlannedTick: every job is offered at the
// pacer tick it is planned for, never before (it would start before its
// planned instant) and never after (the wait would be the pacer's), and it
// is planned less than a tick after its exact instant.
func TestScheduleOffersJobsAtTheirPlannedTick(t *testing.T) {
	for _, rate := range []float64{10000, 3000, 7, 5} {
		s := newSchedule(rate, 2*time.Second)
		offered := int64(0)
		for k := time.Duration(0); k <= 2*time.Second; k += pacerTick {
			// The tick for k fires late, by up to almost a tick.
			for _, late := range []time.Duration{0, pacerTick / 2, pacerTick - 1} {
				if got := s.due(k + late); got != s.due(k) {
					t.Fatalf("rate %v: due(%v) = %d but due(%v) = %d", rate, k+late, got, k, s.due(k))
				}
			}
			due := s.due(k)
			for i := offered; i < due; i++ {
				if p := s.planned(i); p != k {
					t.Fatalf("rate %v: job %d offered at the tick of %v, planned at %v", rate, i, k, p)
				}
				if exact := time.Duration(i) * s.interval; s.planned(i)-exact >= pacerTick || s.planned(i) < exact {
					t.Fatalf("rate %v: job %d planned at %v, its instant is %v", rate, i, s.planned(i), exact)
				}
			}
			offered = max(offered, due)
		}
		if offered != s.total {
			t.Fatalf("rate %v: offered %d of %d", rate, offered, s.total)
		}
	}
}
