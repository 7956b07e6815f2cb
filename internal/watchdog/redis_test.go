package watchdog

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/redistest"
)

// infoReporter reads a Redis backend's memory with its UsedMemory and
// CONFIG GET maxmemory, for as long as backend/redis does not implement
// backend.MemoryReporter itself.
type infoReporter struct{ b *redis.Backend }

func (r infoReporter) Memory(ctx context.Context) (backend.MemoryInfo, error) {
	used, err := r.b.UsedMemory(ctx)
	if err != nil {
		return backend.MemoryInfo{}, err
	}
	c := r.b.Client()
	kv, err := c.Do(ctx, c.B().ConfigGet().Parameter("maxmemory").Build()).AsStrMap()
	if err != nil {
		return backend.MemoryInfo{}, err
	}
	limit, err := strconv.ParseInt(kv["maxmemory"], 10, 64)
	if err != nil {
		return backend.MemoryInfo{}, err
	}
	return backend.MemoryInfo{Used: used, Limit: limit}, nil
}

// TestRealRedisFillsAndDrains fills a Redis with maxmemory 5mb through the
// backend until the watchdog reports Warning, then Critical (before Redis
// refuses writes), then drains it back to OK.
func TestRealRedisFillsAndDrains(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t, redistest.Options{MaxMemory: "5mb"})
	b, err := redis.Open(ctx, redis.Options{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	var r backend.MemoryReporter = infoReporter{b}
	if mr, ok := any(b).(backend.MemoryReporter); ok {
		r = mr
	} else {
		t.Log("backend/redis does not implement backend.MemoryReporter; reading INFO and CONFIG directly")
	}
	w := New(r, Config{Logger: slog.New(&logRecorder{})})

	level, info, err := w.Check(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if level != OK || info.Limit != 5<<20 || info.Used <= 0 {
		t.Fatalf("fresh Redis: level %v, info %+v; want ok, limit 5 MiB", level, info)
	}

	args := make([]byte, 16<<10)
	for i := range args {
		args[i] = 'a' + byte(i%26)
	}
	seen := []Level{OK}
	for n := 0; level != Critical; n++ {
		if n > 1000 {
			t.Fatalf("no critical level after %d jobs of 16 KiB; last %+v", n, info)
		}
		j := &backend.Job{ID: backend.NewJobID(), Kind: "big", Queue: "default", Args: args, CreatedAt: time.Now()}
		if _, err := b.Enqueue(ctx, []*backend.Job{j}); err != nil {
			if errors.Is(err, backend.ErrStoreFull) {
				t.Fatalf("Redis refused writes before the watchdog reached critical (levels %v, %+v)", seen, info)
			}
			t.Fatal(err)
		}
		if level, info, err = w.Check(ctx); err != nil {
			t.Fatal(err)
		}
		if seen[len(seen)-1] != level {
			seen = append(seen, level)
		}
	}
	if len(seen) != 3 || seen[1] != Warning || seen[2] != Critical {
		t.Fatalf("levels while filling: %v, want [ok warning critical]", seen)
	}
	if w.AllowOptionalData() {
		t.Fatal("optional data allowed at critical")
	}
	if budget := int64(0.9 * float64(5<<20)); info.Used < budget {
		t.Fatalf("critical at %d bytes, below the budget %d", info.Used, budget)
	}

	// Drain: run every job to success.
	for {
		fr, err := b.Fetch(ctx, backend.FetchParams{Proc: "p1", Queues: []string{"default"}, Max: 50})
		fs := fr.Jobs
		if err != nil {
			t.Fatal(err)
		}
		if len(fs) == 0 {
			break
		}
		rs := make([]backend.Result, len(fs))
		for i, f := range fs {
			rs[i] = backend.Result{Fetched: f, Outcome: backend.OutcomeSucceeded}
		}
		if err := b.Complete(ctx, "p1", rs); err != nil {
			t.Fatal(err)
		}
	}
	if level, info, err = w.Check(ctx); err != nil || level != OK {
		t.Fatalf("after draining: level %v, info %+v, err %v; want ok", level, info, err)
	}
	if !w.AllowOptionalData() {
		t.Fatal("optional data still refused after recovery")
	}
}
