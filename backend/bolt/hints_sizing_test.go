package bolt

import (
	"path/filepath"
	"testing"
	"time"
)

// TestInFlightHintSizedToCommitTime: the hint holds enough jobs that each
// commit carries its share of TargetJobsPerSec at the measured commit
// time (the median of the recent commits), from InFlightTarget on a fast
// disk up to MaxInFlightHint. The commit times are injected.
func TestInFlightHintSizedToCommitTime(t *testing.T) {
	for _, tc := range []struct {
		commit time.Duration
		want   int
	}{
		{0, InFlightTarget},
		{300 * time.Microsecond, InFlightTarget},
		{1280 * time.Microsecond, InFlightTarget},
		{6826 * time.Microsecond, InFlightTarget}, // 2,048 jobs / 3 commits / 6.83 ms = 100k jobs/s
		{8 * time.Millisecond, 2400},
		{10 * time.Millisecond, 3000},
		{20 * time.Millisecond, MaxInFlightHint},
		{time.Second, MaxInFlightHint},
	} {
		if got := inFlightFor(tc.commit); got != tc.want {
			t.Errorf("inFlightFor(%v) = %d, want %d", tc.commit, got, tc.want)
		}
	}

	b, err := Open(filepath.Join(t.TempDir(), "joblot.db"), Options{NoSync: true, NoLocalEndpoint: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// The last recentCommits commits: the slow ones are the majority, so
	// the median is 9 ms; the fast outliers (a lucky fsync) do not count.
	for i := range recentCommits {
		d := 9 * time.Millisecond
		if i%4 == 0 {
			d = 100 * time.Microsecond
		}
		b.commits.record(1, d, d)
	}
	if got, want := b.InFlightHint(), 2700; got != want {
		t.Fatalf("InFlightHint() after commits of 9 ms = %d, want %d (100,000 jobs/s × 3 commits × 9 ms)", got, want)
	}
	if c := b.CommitStats().Commits; c != recentCommits {
		t.Fatalf("InFlightHint made probe commits (%d commits, %d injected) although enough were measured", c, recentCommits)
	}
}
