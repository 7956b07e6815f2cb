package redis

import (
	"context"
	"errors"
	"testing"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/rediskeys"
	"github.com/joblot/joblot/internal/redistest"
)

// Migrate writes nothing to a Redis without joblot data, finds a store
// written by this joblot up to date, and refuses a newer one. (The step
// machinery is tested with injected chains in internal/migrate: version 1
// has no steps.)
func TestMigrate(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	opts := Options{URL: srv.URL}
	rep, err := Migrate(ctx, opts, backend.MigrateOptions{})
	if err != nil || rep.Version != 0 || rep.Applied || len(rep.Steps) != 0 {
		t.Fatalf("fresh Redis: %+v, %v", rep, err)
	}
	if n, _ := srv.Do("DBSIZE"); n != "0" {
		t.Fatalf("Migrate wrote to a Redis without joblot data: DBSIZE %s", n)
	}
	b, err := Open(ctx, opts) // records the data model
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	rep, err = Migrate(ctx, opts, backend.MigrateOptions{DryRun: true})
	if err != nil || rep.Version != backend.DataModelVersion || len(rep.Steps) != 0 || !rep.DryRun {
		t.Errorf("current store: %+v, %v", rep, err)
	}

	// A newer store is refused, by Migrate and by CheckVersion, and the
	// version lives under the layout's key.
	var keys rediskeys.Layout
	if _, err := srv.Do("SET", keys.Version(), itoa(backend.DataModelVersion+1)); err != nil {
		t.Fatal(err)
	}
	if _, err := Migrate(ctx, opts, backend.MigrateOptions{}); !errors.Is(err, backend.ErrVersionTooNew) {
		t.Errorf("newer store: %v", err)
	}
	if err := CheckVersion(ctx, b.c); !errors.Is(err, backend.ErrVersionTooNew) {
		t.Errorf("CheckVersion on a newer store: %v", err)
	}
	if len(migrations()) != 0 && backend.DataModelVersion == 1 {
		t.Errorf("migrations registered while version 1 is the only data model")
	}
}
