package bolt

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"

	bbolt "go.etcd.io/bbolt"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/migrate"
	"github.com/joblot/joblot/internal/trust"
)

// migrations returns every registered step of the file's data model,
// oldest first (see backend/redis's migrations for the fixture rule).
func migrations() []migrate.Step[*bbolt.DB] {
	return []migrate.Step[*bbolt.DB]{
		{From: 1, Summary: "index every batch's error groups by count (most frequent groups kept)", Run: indexAllErrorGroups},
		// Data model 3 pages the job states of the batches it creates
		// (meta pg) and reads a batch without it in place: nothing to add
		// or convert (see backend/redis's step 2).
		{From: 2, Summary: "batches created from now on keep their job states in pages, dropped once every job of a page settled; existing batches keep their unpaged states, read in place until they expire (nothing to convert)", Run: func(context.Context, *bbolt.DB) error { return nil }},
		// Data model 4 changes only the Redis dead set (backend.EncodeDead):
		// the file's layout is the same, and the step records the version.
		{From: 3, Summary: "no change to the embedded file's layout (data model 4 changes the Redis dead set only)", Run: func(context.Context, *bbolt.DB) error { return nil }},
	}
}

// migrateChunk is how many batches one transaction of a step rewrites.
const migrateChunk = 500

// indexAllErrorGroups writes the error-group index of every batch
// (indexErrorGroups), migrateChunk batches per transaction. Indexed
// batches are skipped, so running it again resumes.
func indexAllErrorGroups(ctx context.Context, db *bbolt.DB) error {
	var ids [][]byte
	err := db.View(func(tx *bbolt.Tx) error {
		bs := tx.Bucket(bucketBatches)
		if bs == nil {
			return nil
		}
		return bs.ForEachBucket(func(k []byte) error {
			ids = append(ids, append([]byte(nil), k...))
			return nil
		})
	})
	if err != nil {
		return err
	}
	for len(ids) > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		chunk := ids[:min(len(ids), migrateChunk)]
		ids = ids[len(chunk):]
		err := db.Update(func(tx *bbolt.Tx) error {
			for _, id := range chunk {
				bk := tx.Bucket(bucketBatches).Bucket(id)
				m, err := readMeta(bk)
				if err != nil {
					return fmt.Errorf("batch %s: %w", id, err)
				}
				if m == nil || m.ErrIndexed {
					continue
				}
				if err := indexErrorGroups(bk, m); err != nil {
					return fmt.Errorf("batch %s: %w", id, err)
				}
				raw, err := json.Marshal(m)
				if err != nil {
					return err
				}
				if err := bk.Put(keyBatchMeta, raw); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Migrate upgrades the data model of the store file at path (the backend
// package doc gives the order of a rolling deploy). It refuses a newer
// version with an error wrapping backend.ErrVersionTooNew and runs the
// steps from the file's version to backend.DataModelVersion, recording
// each; with mo.DryRun it only reports them. The file must exist, and
// must not be open elsewhere: a file owned by a running process fails
// with an error wrapping backend.ErrLocked after DefaultLockTimeout.
// Unlike Open, Migrate recovers no jobs and serves no endpoint; of opts it
// reads the trust settings (AllowOwner) and LockTimeout, and refuses a file
// another user planted or can change as Open does.
func Migrate(ctx context.Context, path string, opts Options, mo backend.MigrateOptions) (*backend.MigrationReport, error) {
	return migrateFile(ctx, path, opts, migrations(), mo)
}

func migrateFile(ctx context.Context, path string, opts Options, steps []migrate.Step[*bbolt.DB], mo backend.MigrateOptions) (*backend.MigrationReport, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("joblot/bolt: embedded store %s: %w", path, err)
	}
	owners, err := trust.New(opts.AllowOwner)
	if err != nil {
		return nil, fmt.Errorf("joblot/bolt: migrate %s: %w", path, err)
	}
	timeout := opts.LockTimeout
	if timeout <= 0 {
		timeout = DefaultLockTimeout
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: timeout, ReadOnly: mo.DryRun, OpenFile: owners.OpenFile})
	if errors.Is(err, bbolt.ErrTimeout) {
		return nil, fmt.Errorf("joblot/bolt: open %s: %w: stop the process that owns it to migrate", path, backend.ErrLocked)
	}
	if err != nil {
		return nil, fmt.Errorf("joblot/bolt: open %s: %w", path, err)
	}
	defer db.Close()
	return migrate.Run(ctx, migrate.Store[*bbolt.DB]{
		Desc:    "file " + path,
		Target:  db,
		Version: func(context.Context) (int, error) { return readVersion(db) },
		Record: func(_ context.Context, v int) error {
			return db.Update(func(tx *bbolt.Tx) error {
				m, err := tx.CreateBucketIfNotExists(bucketMeta)
				if err != nil {
					return err
				}
				return m.Put(keyVersion, binary.AppendUvarint(nil, uint64(v)))
			})
		},
	}, steps, mo)
}

// readVersion reads the file's data-model version record; 0 when there is
// none (a store that was never written).
func readVersion(db *bbolt.DB) (int, error) {
	v := 0
	err := db.View(func(tx *bbolt.Tx) error {
		m := tx.Bucket(bucketMeta)
		if m == nil {
			return nil
		}
		raw := m.Get(keyVersion)
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
		return 0, fmt.Errorf("joblot/bolt: %s: %w", db.Path(), err)
	}
	return v, nil
}
