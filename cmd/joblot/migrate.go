package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/redis/rueidis"
	"github.com/spf13/cobra"
	bbolt "go.etcd.io/bbolt"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/redis"
)

// migration upgrades a store's data model from version From to From+1.
//
// A step must be idempotent and resumable: it may be interrupted anywhere
// and run again from the start, and readers of version From+1 must accept
// what it leaves half-done meanwhile (readers accept the previous
// version). The version record moves to From+1 only after the step has
// finished, so an interrupted migration is resumed by running it again.
type migration struct {
	From    int
	Summary string
	Redis   func(ctx context.Context, c rueidis.Client) error
	File    func(ctx context.Context, db *bbolt.DB) error
}

// migrations returns every registered step, oldest first. There are none:
// version 1 is joblot's first data model. Its fixture set is in
// testdata/layout-v1 (layout_fixture_test.go); a new layout adds one step
// here and its own fixture set, and every older set must still migrate
// and run.
func migrations() []migration { return nil }

// planMigrations returns the steps that take a store from version from to
// version to, in order, or an error if one is missing.
func planMigrations(steps []migration, from, to int) ([]migration, error) {
	var plan []migration
	for v := from; v < to; v++ {
		i := -1
		for k, s := range steps {
			if s.From == v {
				i = k
				break
			}
		}
		if i < 0 {
			return nil, fmt.Errorf("no migration from data model %d to %d: this joblot cannot upgrade the store", v, v+1)
		}
		plan = append(plan, steps[i])
	}
	return plan, nil
}

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
file must not be owned by a running process.`,
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
				res, err = migrateFile(ctx, c.dbPath, dryRun, a)
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

// checkVersion refuses a newer data model and plans the steps from v.
func checkVersion(res *migrateResult) ([]migration, error) {
	if res.Version > res.Current {
		return nil, fmt.Errorf("%s has data model %d, this joblot knows %d: %w", res.Store, res.Version, res.Current, backend.ErrVersionTooNew)
	}
	if res.Version == 0 {
		return nil, nil
	}
	plan, err := planMigrations(migrations(), res.Version, res.Current)
	for _, s := range plan {
		res.Steps = append(res.Steps, fmt.Sprintf("%d → %d: %s", s.From, s.From+1, s.Summary))
	}
	return plan, err
}

func migrateRedis(ctx context.Context, c storeChoice, dryRun bool) (*migrateResult, error) {
	rc, err := c.redisClient()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	res := &migrateResult{Store: "redis " + redis.RedactURL(c.redisURL), Current: backend.DataModelVersion, DryRun: dryRun, Steps: []string{}}
	v, _, err := redisVersion(ctx, rc)
	if err != nil {
		return nil, err
	}
	res.Version = v
	plan, err := checkVersion(res)
	if err != nil || dryRun || len(plan) == 0 {
		return res, err
	}
	for _, s := range plan {
		if s.Redis == nil {
			return res, fmt.Errorf("migration %d → %d has no Redis step", s.From, s.From+1)
		}
		if err := s.Redis(ctx, rc); err != nil {
			return res, fmt.Errorf("migration %d → %d: %w (running migrate again resumes)", s.From, s.From+1, err)
		}
		if err := rc.Do(ctx, rc.B().Set().Key(redisVersionKey).Value(strconv.Itoa(s.From+1)).Build()).Error(); err != nil {
			return res, fmt.Errorf("record data model %d: %w (running migrate again resumes)", s.From+1, err)
		}
	}
	res.Applied = true
	return res, nil
}

func migrateFile(ctx context.Context, path string, dryRun bool, a *app) (*migrateResult, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("embedded store %s: %w", path, err)
	}
	s, err := openFile(ctx, path, a.store.allowOwner, a.logger())
	if err != nil {
		return nil, err // a newer data model is refused here, by bolt.Open
	}
	defer s.Close()
	if s.bolt == nil {
		return nil, fmt.Errorf("embedded store %s is owned by a running process (pid %d): stop it to migrate", path, s.remote.OwnerPID())
	}
	res := &migrateResult{Store: s.desc, Current: backend.DataModelVersion, DryRun: dryRun, Steps: []string{}}
	db := s.bolt.DB()
	if res.Version, err = boltVersion(db); err != nil {
		return nil, err
	}
	plan, err := checkVersion(res)
	if err != nil || dryRun || len(plan) == 0 {
		return res, err
	}
	for _, st := range plan {
		if st.File == nil {
			return res, fmt.Errorf("migration %d → %d has no embedded-store step", st.From, st.From+1)
		}
		if err := st.File(ctx, db); err != nil {
			return res, fmt.Errorf("migration %d → %d: %w (running migrate again resumes)", st.From, st.From+1, err)
		}
		if err := db.Update(func(tx *bbolt.Tx) error {
			return tx.Bucket(boltMeta).Put(boltVersionKey, binary.AppendUvarint(nil, uint64(st.From+1)))
		}); err != nil {
			return res, fmt.Errorf("record data model %d: %w (running migrate again resumes)", st.From+1, err)
		}
	}
	res.Applied = true
	return res, nil
}

// The embedded store's version record: bucket "meta", key "version", a
// uvarint (backend/bolt/layout.go; part of the stored format, never
// renamed). backend/bolt exports no accessor for it.
var (
	boltMeta       = []byte("meta")
	boltVersionKey = []byte("version")
)

// boltVersion reads the version record; 0 when there is none (a store
// that was never written).
func boltVersion(db *bbolt.DB) (int, error) {
	v := 0
	err := db.View(func(tx *bbolt.Tx) error {
		m := tx.Bucket(boltMeta)
		if m == nil {
			return nil
		}
		raw := m.Get(boltVersionKey)
		if raw == nil {
			return nil
		}
		n, k := binary.Uvarint(raw)
		if k <= 0 {
			return errors.New("unreadable data-model version record")
		}
		v = int(n)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("embedded store %s: %w", db.Path(), err)
	}
	return v, nil
}
