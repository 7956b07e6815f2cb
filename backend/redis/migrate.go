package redis

import (
	"context"
	"fmt"
	"strconv"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/keyspace"
	"github.com/joblot/joblot/internal/migrate"
	"github.com/joblot/joblot/internal/rediskeys"
)

// migrations returns every registered step of the Redis data model for
// the keys of layout keys, oldest first. Each data model keeps its fixture
// set in cmd/joblot/testdata/layout-vN; a new layout adds one step here,
// one in backend/bolt and its own fixture set, and every older set must
// still migrate and run.
func migrations(keys rediskeys.Layout) []migrate.Step[rueidis.Client] {
	return []migrate.Step[rueidis.Client]{
		{From: 1, Summary: "index every batch's error groups by count (most frequent groups kept)", Run: func(ctx context.Context, c rueidis.Client) error {
			return indexAllErrorGroups(ctx, c, keys)
		}},
		// Data model 3 pages the job states of the batches it creates
		// (meta "pages"); batch_ack.lua keeps reading and writing the
		// unpaged string of a batch without that field, which workers of
		// data model 2 may still be acking during a rolling deploy, so
		// there is nothing to add or convert: the version only stops a
		// data model 2 binary started after the migration.
		{From: 2, Summary: "batches created from now on keep their job states in pages, dropped once every job of a page settled; existing batches keep their unpaged states, read in place until they expire (nothing to convert)", Run: func(context.Context, rueidis.Client) error { return nil }},
		// Data model 4 stores a dead job as a lean entry whose failure
		// details are kept once per queue and shared (backend.EncodeDead,
		// deadlib.lua). Dead entries of data model 3 (whole jobs) are read,
		// retried, deleted and trimmed in place until they age out, so
		// there is nothing to convert: the version stops a data model 3
		// binary, which could not read the new entries, started after the
		// migration.
		{From: 3, Summary: "dead jobs from now on are stored as lean entries sharing their failure details per queue; existing dead jobs are read in place until they age out (nothing to convert)", Run: func(context.Context, rueidis.Client) error { return nil }},
	}
}

// indexAllErrorGroups runs batch_errs_index.lua on every batch that has
// error groups, found with SCAN on every primary, one pipeline per SCAN
// page. The data model 1 layout stays as it was (workers of that model
// keep reading and writing it during a rolling deploy, and batch_ack.lua
// adopts what they add); an indexed batch is skipped, so running the step
// again resumes.
func indexAllErrorGroups(ctx context.Context, c rueidis.Client, keys rediskeys.Layout) error {
	nodes, err := keyspace.Primaries(ctx, c)
	if err != nil {
		return err
	}
	s := newScripts().batchErrsIndex
	pattern := keys.BatchTagPrefix() + "*}:" + rediskeys.SuffixErrs
	for _, n := range nodes {
		var cursor uint64
		for {
			entry, err := n.Client.Do(ctx, n.Client.B().Scan().Cursor(cursor).Match(pattern).Count(1000).Build()).AsScanEntry()
			if err != nil {
				return fmt.Errorf("scan %s: %w", n.Addr, err)
			}
			var calls []call
			for _, k := range entry.Elements {
				if id, suffix, ok := keys.ParseBatchKey(k); ok && suffix == rediskeys.SuffixErrs {
					calls = append(calls, call{s: s, keys: keys.BatchKeys(id)})
				}
			}
			if err := runCalls(ctx, c, calls); err != nil {
				return err
			}
			cursor = entry.Cursor
			if cursor == 0 {
				break
			}
		}
	}
	return nil
}

// runCalls runs script calls in one pipeline on c (the cluster client
// routes each by its keys), with EVAL for a script the server lacks.
func runCalls(ctx context.Context, c rueidis.Client, calls []call) error {
	if len(calls) == 0 {
		return nil
	}
	cmds := make(rueidis.Commands, len(calls))
	for i, cl := range calls {
		cmds[i] = cl.evalsha(c)
	}
	for i, r := range c.DoMulti(ctx, cmds...) {
		err := r.Error()
		if isNoScript(err) {
			err = c.Do(ctx, calls[i].eval(c)).Error()
		}
		if err != nil {
			return fmt.Errorf("%s %s: %w", calls[i].s.name, calls[i].keys[0], err)
		}
	}
	return nil
}

// Migrate upgrades the data model of the Redis at opts.URL (the backend
// package doc gives the order of a rolling deploy: migrate first, with the
// new code). It reads the recorded version, refuses a newer one with an
// error wrapping backend.ErrVersionTooNew, and runs the steps from it to
// backend.DataModelVersion, recording each; with mo.DryRun it only reports
// them. A Redis with no joblot data needs nothing. Only opts.URL,
// opts.Prefix (it migrates the keys of that prefix only) and
// opts.ClientOptions are used; unlike Open, Migrate writes nothing unless
// a step is due.
func Migrate(ctx context.Context, opts Options, mo backend.MigrateOptions) (*backend.MigrationReport, error) {
	copt, err := ParseURL(opts.URL)
	if err != nil {
		return nil, err
	}
	keys, err := layoutOf(opts.URL, opts.Prefix)
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
	desc := "redis " + RedactURL(opts.URL)
	if keys.Prefix() != DefaultPrefix {
		desc += " (prefix " + keys.Prefix() + ")"
	}
	return migrateWith(ctx, c, desc, keys, migrations(keys), mo)
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
