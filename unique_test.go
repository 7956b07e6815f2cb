package joblot

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

type syncArgs struct {
	Account int    `json:"account"`
	Mode    string `json:"mode"`
	Note    string `json:"note,omitempty"`
}

func (syncArgs) Kind() string { return "sync" }

type otherSyncArgs struct {
	Account int `json:"account"`
}

func (otherSyncArgs) Kind() string { return "other_sync" }

// uniqueSyncArgs carry their own unique options, as River's InsertOpts do.
type uniqueSyncArgs struct {
	Account int `json:"account"`
}

func (uniqueSyncArgs) Kind() string { return "unique_sync" }
func (uniqueSyncArgs) EnqueueOpts() EnqueueOpts {
	return EnqueueOpts{Unique: &UniqueOpts{ByArgs: true}}
}

func TestUniqueKeyDerivation(t *testing.T) {
	now := time.Date(2030, 5, 6, 10, 20, 30, 0, time.UTC)
	key := func(kind string, args string, u UniqueOpts, at time.Time) string {
		t.Helper()
		k, _, err := uniqueLock(kind, []byte(args), &u, at)
		if err != nil {
			t.Fatalf("uniqueLock(%s, %s, %+v): %v", kind, args, u, err)
		}
		if len(k) != 16 {
			t.Fatalf("key %q: want 16 characters", k)
		}
		return k
	}
	a1, a2 := `{"account":1,"mode":"full","note":"x"}`, `{"account":2,"mode":"full","note":"x"}`
	a1b := `{"account":1,"mode":"full","note":"y"}`
	same := func(what string, x, y string) {
		t.Helper()
		if x != y {
			t.Errorf("%s: keys differ", what)
		}
	}
	differ := func(what string, x, y string) {
		t.Helper()
		if x == y {
			t.Errorf("%s: keys equal", what)
		}
	}
	same("kind only ignores args", key("sync", a1, UniqueOpts{}, now), key("sync", a2, UniqueOpts{}, now))
	differ("kind is in the key", key("sync", a1, UniqueOpts{}, now), key("other", a1, UniqueOpts{}, now))
	differ("ByArgs", key("sync", a1, UniqueOpts{ByArgs: true}, now), key("sync", a2, UniqueOpts{ByArgs: true}, now))
	differ("ByArgs sees every field", key("sync", a1, UniqueOpts{ByArgs: true}, now), key("sync", a1b, UniqueOpts{ByArgs: true}, now))
	fields := UniqueOpts{ArgsFields: []string{"mode", "account"}}
	same("ArgsFields ignore other fields", key("sync", a1, fields, now), key("sync", a1b, fields, now))
	differ("ArgsFields see theirs", key("sync", a1, fields, now), key("sync", a2, fields, now))
	same("ArgsFields in any order", key("sync", a1, fields, now), key("sync", a1, UniqueOpts{ArgsFields: []string{"account", "mode", "account"}}, now))
	same("ArgsFields: a missing field is null", key("sync", `{"account":1}`, UniqueOpts{ArgsFields: []string{"account", "gone"}}, now),
		key("sync", `{"account":1,"gone":null}`, UniqueOpts{ArgsFields: []string{"account", "gone"}}, now))
	differ("ArgsFields are not ByArgs", key("sync", a1, fields, now), key("sync", a1, UniqueOpts{ByArgs: true}, now))
	differ("Key", key("sync", a1, UniqueOpts{Key: "tenant-1"}, now), key("sync", a1, UniqueOpts{Key: "tenant-2"}, now))
	differ("Key is not kind only", key("sync", a1, UniqueOpts{Key: "tenant-1"}, now), key("sync", a1, UniqueOpts{}, now))

	// Period: one key per window, aligned on the epoch; the lock ends with
	// its window.
	hour := UniqueOpts{ByArgs: true, Period: time.Hour}
	start := now.Truncate(time.Hour)
	same("same window", key("sync", a1, hour, start), key("sync", a1, hour, start.Add(59*time.Minute)))
	differ("next window", key("sync", a1, hour, start), key("sync", a1, hour, start.Add(time.Hour)))
	differ("Period is in the key", key("sync", a1, hour, now), key("sync", a1, UniqueOpts{ByArgs: true}, now))
	if _, until, _ := uniqueLock("sync", []byte(a1), &hour, now); !until.Equal(start.Add(time.Hour)) {
		t.Errorf("lock expiry %v, want the window's end %v", until, start.Add(time.Hour))
	}
	if _, until, _ := uniqueLock("sync", []byte(a1), &UniqueOpts{}, now); !until.IsZero() {
		t.Errorf("lock expiry without a period: %v, want none", until)
	}

	for _, bad := range []UniqueOpts{
		{Key: "k", ByArgs: true},
		{Key: "k", ArgsFields: []string{"a"}},
		{Period: -time.Second},
		{Period: time.Microsecond},
	} {
		if _, _, err := uniqueLock("sync", []byte(a1), &bad, now); err == nil {
			t.Errorf("uniqueLock(%+v) accepted", bad)
		}
	}
	if _, _, err := uniqueLock("sync", []byte(`[1,2]`), &fields, now); err == nil {
		t.Error("ArgsFields accepted args that are not a JSON object")
	}
}

func TestEnqueueUnique(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		ctx := context.Background()
		now := time.Date(2030, 5, 6, 10, 20, 30, 0, time.UTC)
		c := NewClient(b, ClientConfig{Now: func() time.Time { return now }})
		byArgs := &EnqueueOpts{Unique: &UniqueOpts{ByArgs: true}}
		first, err := c.Enqueue(ctx, syncArgs{Account: 1}, byArgs)
		if err != nil || first.SkippedAsDuplicate {
			t.Fatalf("first unique enqueue: %+v, %v", first, err)
		}
		dup, err := c.Enqueue(ctx, syncArgs{Account: 1}, byArgs)
		if err != nil || !dup.SkippedAsDuplicate || dup.ID != first.ID {
			t.Fatalf("duplicate: %+v, %v; want skipped as a duplicate of %s", dup, err, first.ID)
		}
		if r, err := c.Enqueue(ctx, syncArgs{Account: 2}, byArgs); err != nil || r.SkippedAsDuplicate {
			t.Fatalf("other args: %+v, %v", r, err)
		}
		if r, err := c.Enqueue(ctx, syncArgs{Account: 1}, &EnqueueOpts{Queue: "other", Unique: byArgs.Unique}); err != nil || r.SkippedAsDuplicate {
			t.Fatalf("other queue: %+v, %v", r, err)
		}
		if r, err := c.Enqueue(ctx, syncArgs{Account: 1}, nil); err != nil || r.SkippedAsDuplicate {
			t.Fatalf("not unique: %+v, %v", r, err)
		}
		// The args' own options make it unique; EnqueueMany reports per job.
		res, err := c.EnqueueMany(ctx, []EnqueueParams{{Args: uniqueSyncArgs{Account: 1}}, {Args: uniqueSyncArgs{Account: 1}}, {Args: otherSyncArgs{Account: 1}}})
		if err != nil || res[0].SkippedAsDuplicate || !res[1].SkippedAsDuplicate || res[1].ID != res[0].ID || res[2].SkippedAsDuplicate {
			t.Fatalf("EnqueueMany: %+v, %v", res, err)
		}
		// A period: the next window takes a new lock.
		hourly := &EnqueueOpts{Unique: &UniqueOpts{Key: "report", Period: time.Hour}}
		h1, _ := c.Enqueue(ctx, syncArgs{Account: 9}, hourly)
		h2, _ := c.Enqueue(ctx, syncArgs{Account: 8}, hourly)
		now = now.Add(time.Hour)
		h3, err := c.Enqueue(ctx, syncArgs{Account: 9}, hourly)
		if err != nil || h1.SkippedAsDuplicate || !h2.SkippedAsDuplicate || h2.ID != h1.ID || h3.SkippedAsDuplicate {
			t.Fatalf("hourly: %+v %+v %+v, %v", h1, h2, h3, err)
		}
		if _, err := c.Enqueue(ctx, syncArgs{}, &EnqueueOpts{Unique: &UniqueOpts{Key: "k", ByArgs: true}}); err == nil {
			t.Fatal("contradictory unique options accepted")
		}
	})
}

// A unique job in a batch would leave it pending forever if skipped: Add
// refuses it before storing anything, and so does a callback.
func TestUniqueNotInBatch(t *testing.T) {
	ctx := context.Background()
	c := NewClient(openBolt(t, backend.Limits{}), ClientConfig{})
	bt, err := c.NewBatch(ctx, BatchOpts{})
	if err != nil {
		t.Fatal(err)
	}
	err = bt.Add(ctx, EnqueueParams{Args: syncArgs{Account: 1}}, EnqueueParams{Args: syncArgs{Account: 2}, Opts: EnqueueOpts{Unique: &UniqueOpts{}}})
	if !errors.Is(err, ErrUniqueInBatch) {
		t.Fatalf("Add with a unique job: %v, want ErrUniqueInBatch", err)
	}
	if err := bt.Add(ctx, EnqueueParams{Args: uniqueSyncArgs{Account: 1}}); !errors.Is(err, ErrUniqueInBatch) {
		t.Fatalf("Add with args unique by default: %v, want ErrUniqueInBatch", err)
	}
	st, err := bt.Status(ctx)
	if err != nil || st.Total != 0 {
		t.Fatalf("status after refused adds: %+v, %v; want nothing added", st, err)
	}
	if _, err := c.NewBatch(ctx, BatchOpts{OnComplete: &Callback{Args: uniqueSyncArgs{}}}); !errors.Is(err, ErrUniqueInBatch) {
		t.Fatalf("unique callback: %v, want ErrUniqueInBatch", err)
	}
}
