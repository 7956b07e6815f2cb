package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/bolt"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/backend/remote"
)

// migrateResult is what `migrate` prints with --json.
type migrateResult struct {
	Store string `json:"store"`
	// Version is the store's data-model version (0: none recorded, the
	// store holds no joblot data yet).
	Version int `json:"version"`
	// Current is the version this joblot writes.
	Current int `json:"current"`
	// Steps are the migrations run (or, with --dry-run, to run).
	Steps   []string `json:"steps"`
	DryRun  bool     `json:"dry_run"`
	Applied bool     `json:"applied"`
}

func newMigrateCmd(a *app) *cobra.Command {
	var dryRun, asJSON bool
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Upgrade a store written by an older joblot to this joblot's data model",
		Long: `Read the store's data-model version (Redis jl:version, or the embedded
file's version record) and upgrade it in place, step by step, to the
version this joblot writes. Every step is idempotent and resumable: an
interrupted migration is finished by running it again. --dry-run says
what would be migrated and changes nothing.

A store written by a newer joblot is refused. On the embedded store the
file must not be owned by a running process.

Rolling deploy of a joblot with a newer data model: run this migrate with
the new binary first, while the old workers keep running, then roll the
workers. Applications can do the same at start-up with redis.Migrate or
bolt.Migrate.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, err := a.store.choose(a.getenv)
			if err != nil {
				return err
			}
			var res *migrateResult
			if c.redisURL != "" {
				res, err = migrateRedis(ctx, c, dryRun)
			} else {
				res, err = migrateFile(ctx, c.dbPath, a.store.allowOwner, dryRun)
			}
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.stdout, res)
			}
			switch {
			case res.Version == 0:
				fmt.Fprintf(a.stdout, "%s: no joblot data yet, nothing to migrate (joblot records data model %d with its first write)\n", cell(res.Store), res.Current)
			case len(res.Steps) == 0:
				fmt.Fprintf(a.stdout, "%s: up to date (version %d)\n", cell(res.Store), res.Version)
			default:
				verb := "migrated"
				if res.DryRun {
					verb = "would migrate"
				}
				fmt.Fprintf(a.stdout, "%s: %s from version %d to %d:\n", cell(res.Store), verb, res.Version, res.Current)
				for _, s := range res.Steps {
					fmt.Fprintf(a.stdout, "  %s\n", s)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "say what would be migrated, change nothing")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

func migrateRedis(ctx context.Context, c storeChoice, dryRun bool) (*migrateResult, error) {
	rep, err := redis.Migrate(ctx, redis.Options{URL: c.redisURL, Prefix: c.prefix}, backend.MigrateOptions{DryRun: dryRun})
	return resultOf(rep), err
}

// migrateFile migrates the embedded store at path. A file owned by a
// running process is refused, naming it when its endpoint answers.
func migrateFile(ctx context.Context, path, allowOwner string, dryRun bool) (*migrateResult, error) {
	rep, err := bolt.Migrate(ctx, path, bolt.Options{AllowOwner: allowOwner}, backend.MigrateOptions{DryRun: dryRun})
	if errors.Is(err, backend.ErrLocked) {
		if rc, derr := (remote.Dialer{AllowOwner: allowOwner}).Dial(ctx, path); derr == nil {
			pid := rc.OwnerPID()
			rc.Close()
			return nil, fmt.Errorf("embedded store %s is owned by a running process (pid %d): stop it to migrate", path, pid)
		}
	}
	return resultOf(rep), err
}

// resultOf is the CLI's view of a migration report (nil for nil).
func resultOf(rep *backend.MigrationReport) *migrateResult {
	if rep == nil {
		return nil
	}
	return &migrateResult{Store: rep.Store, Version: rep.Version, Current: rep.Current, Steps: rep.Steps, DryRun: rep.DryRun, Applied: rep.Applied}
}
