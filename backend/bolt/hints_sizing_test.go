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
		{1280 * time.Microsecond, InFlightTarget}, // 384 jobs / 3 commits / 1.28 ms = 100k jobs/s
		{2 * time.Millisecond, 600},
		{4400 * time.Microsecond, 1320},
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
	// the median is 4 ms; the fast outliers (a lucky fsync) do not count.
	for i := range recentCommits {
		d := 4 * time.Millisecond
		if i%4 == 0 {
			d = 100 * time.Microsecond
		}
		b.commits.record(1, d, d)
	}
	if got, want := b.InFlightHint(), 1200; got != want {
		t.Fatalf("InFlightHint() after commits of 4 ms = %d, want %d (100,000 jobs/s × 3 commits × 4 ms)", got, want)
	}
	if c := b.CommitStats().Commits; c != recentCommits {
		t.Fatalf("InFlightHint made probe commits (%d commits, %d injected) although enough were measured", c, recentCommits)
	}
}
