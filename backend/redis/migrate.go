package redis

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/migrate"
	"github.com/joblot/joblot/internal/rediskeys"
)

// migrations returns every registered step of the Redis data model, oldest
// first. There are none: version 1 is joblot's first data model. Its
// fixture set is in cmd/joblot/testdata/layout-v1; a new layout adds one
// step here, one in backend/bolt and its own fixture set, and every older
// set must still migrate and run.
func migrations() []migrate.Step[rueidis.Client] { return nil }

// Migrate upgrades the data model of the Redis at opts.URL (the backend
// package doc gives the order of a rolling deploy: migrate first, with the
// new code). It reads the recorded version, refuses a newer one with an
// error wrapping backend.ErrVersionTooNew, and runs the steps from it to
// backend.DataModelVersion, recording each; with mo.DryRun it only reports
// them. A Redis with no joblot data needs nothing. Only opts.URL and
// opts.ClientOptions are used; unlike Open, Migrate writes nothing unless
// a step is due.
func Migrate(ctx context.Context, opts Options, mo backend.MigrateOptions) (*backend.MigrationReport, error) {
	copt, err := ParseURL(opts.URL)
	if err != nil {
		return nil, err
	}
	copt.DisableCache = true
	if opts.ClientOptions != nil {
		opts.ClientOptions(&copt)
	}
	c, err := rueidis.NewClient(copt)
	if err != nil {
		return nil, fmt.Errorf("joblot/redis: connect %s: %w", RedactURL(opts.URL), err)
	}
	defer c.Close()
	return migrateWith(ctx, c, "redis "+RedactURL(opts.URL), rediskeys.Layout{}, migrations(), mo)
}

// migrateWith runs steps on the keys of layout keys through c.
func migrateWith(ctx context.Context, c rueidis.Client, desc string, keys rediskeys.Layout, steps []migrate.Step[rueidis.Client], mo backend.MigrateOptions) (*backend.MigrationReport, error) {
	return migrate.Run(ctx, migrate.Store[rueidis.Client]{
		Desc:   desc,
		Target: c,
		Version: func(ctx context.Context) (int, error) {
			v, _, err := readVersion(ctx, c, keys)
			return v, err
		},
		Record: func(ctx context.Context, v int) error {
			return c.Do(ctx, c.B().Set().Key(keys.Version()).Value(strconv.Itoa(v)).Build()).Error()
		},
	}, steps, mo)
}
