package bolt

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/joblot/joblot/backend"
)

// errKeys counts the records of the errs bucket.
func errKeys(t *testing.T, b *Backend) int {
	t.Helper()
	n := 0
	if err := b.DB().View(func(tx *bbolt.Tx) error {
		if bk := tx.Bucket(bucketErrs); bk != nil {
			n = bk.Stats().KeyN
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// The janitor prunes an hour's error bucket once the retention has passed
// after the hour, and keeps it until then; buckets of several hours merge.
func TestJanitorPrunesErrorBuckets(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	now := time.Date(2030, 1, 1, 10, 15, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	b, err := Open(filepath.Join(t.TempDir(), "joblot.db"), Options{NoSync: true, NoLocalEndpoint: true, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	fail := func(f *backend.Fetched) backend.Result {
		j := f.Job.Clone()
		j.ErrorClass, j.ErrorMessage, j.ErrorFingerprint = "*app.Err", "boom", "fp-a"
		return backend.Result{Fetched: f, Job: j, Outcome: backend.OutcomeDead}
	}
	if _, err := b.Enqueue(ctx, testJobs("q", 2, "a")); err != nil {
		t.Fatal(err)
	}
	drain(t, b, "q", 10, fail)
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	if _, err := b.Enqueue(ctx, testJobs("q", 1, "b")); err != nil {
		t.Fatal(err)
	}
	drain(t, b, "q", 10, fail)
	if n := errKeys(t, b); n != 4 { // two hours: a meta record and a group each
		t.Fatalf("%d error records, want 4", n)
	}
	gs, err := b.ErrorGroups(ctx, backend.ErrorGroupFilter{}, clock())
	if err != nil || len(gs) != 1 || gs[0].Count != 3 {
		t.Fatalf("ErrorGroups = %+v, %v; want fp-a counted 3 times", gs, err)
	}

	// 10:00's bucket goes at 11:00 + 48h, 12:00's at 13:00 + 48h.
	first := time.Date(2030, 1, 3, 11, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		at   time.Time
		keys int
	}{{first.Add(-time.Minute), 4}, {first, 2}, {first.Add(2 * time.Hour), 0}} {
		if _, err := b.ForwardCallbacks(ctx, c.at); err != nil {
			t.Fatal(err)
		}
		if n := errKeys(t, b); n != c.keys {
			t.Fatalf("after the janitor at %v: %d error records, want %d", c.at, n, c.keys)
		}
	}
}
