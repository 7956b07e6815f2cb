package main

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	_ "modernc.org/sqlite" // the pure-Go "sqlite" database/sql driver
)

// riverNoopArgs is River's no-op job.
type riverNoopArgs struct{}

// Kind implements river.JobArgs.
func (riverNoopArgs) Kind() string { return "noop" }

// sqliteDSN opens path in WAL mode with synchronous=FULL, so a commit is
// fsync'd to the WAL before it returns (durable like joblot's bbolt commits;
// WAL's default NORMAL can lose the last commits on power loss).
// busy_timeout only matters if something else touches the file.
func sqliteDSN(path string) string {
	return "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)"
}

// openSQLite opens the pool as River's SQLite driver asks: one connection,
// because SQLite allows one writer and River's services run concurrently.
func openSQLite(ctx context.Context, path string) (*sql.DB, error) {
	db, err := sql.Open("sqlite", sqliteDSN(path))
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	db.SetMaxOpenConns(1)
	var mode string
	var sync int
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
		db.Close()
		return nil, err
	}
	if mode != "wal" || sync != 2 {
		db.Close()
		return nil, fmt.Errorf("sqlite: journal_mode=%s synchronous=%d, want wal and 2 (FULL)", mode, sync)
	}
	return db, nil
}

// runRiver migrates a fresh SQLite file, inserts cfg.Jobs no-op jobs with
// InsertMany (one transaction per chunk), then runs a River client until all
// of them ran and stops it, which flushes every completion before returning.
func runRiver(ctx context.Context, dir string, cfg config) (roundResult, error) {
	res := roundResult{Jobs: cfg.RiverJobs}
	path := filepath.Join(dir, "river.sqlite3")
	db, err := openSQLite(ctx, path)
	if err != nil {
		return res, err
	}
	defer db.Close()
	driver := riversqlite.New(db)

	migrator, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: cfg.Logger})
	if err != nil {
		return res, fmt.Errorf("river migrator: %w", err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		return res, fmt.Errorf("river migrate: %w", err)
	}
	if _, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return res, err
	}
	if res.BytesBefore, err = fileSize(path); err != nil {
		return res, err
	}

	var ran atomic.Int64
	done := make(chan struct{})
	workers := river.NewWorkers()
	river.AddWorker(workers, river.WorkFunc(func(context.Context, *river.Job[riverNoopArgs]) error {
		if ran.Add(1) == int64(res.Jobs) {
			close(done)
		}
		return nil
	}))
	client, err := river.NewClient(driver, &river.Config{
		Logger:        cfg.Logger,
		Queues:        map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: cfg.Concurrency}},
		Workers:       workers,
		FetchCooldown: cfg.RiverFetchCooldown,
		// No LISTEN/NOTIFY on SQLite: an insert from this client wakes its
		// own producer, and this is the fallback poll.
		FetchPollInterval: cfg.RiverFetchPoll,
	})
	if err != nil {
		return res, fmt.Errorf("river client: %w", err)
	}

	params := make([]river.InsertManyParams, 0, cfg.Chunk)
	start := time.Now()
	for left := res.Jobs; left > 0; {
		k := min(left, cfg.Chunk)
		params = params[:0]
		for range k {
			params = append(params, river.InsertManyParams{Args: riverNoopArgs{}})
		}
		if _, err := client.InsertMany(ctx, params); err != nil {
			return res, fmt.Errorf("river insert: %w", err)
		}
		left -= k
	}
	res.Enqueue = time.Since(start)

	diag := diagStart()
	start = time.Now()
	if err := client.Start(ctx); err != nil {
		return res, fmt.Errorf("river start: %w", err)
	}
	if err := waitDone(ctx, done, &ran, cfg, res.Jobs); err != nil {
		client.Stop(ctx)
		return res, err
	}
	if err := client.Stop(ctx); err != nil {
		return res, fmt.Errorf("river stop: %w", err)
	}
	res.Process = time.Since(start)
	res.ProcessDiag = diag()

	// Check, outside the timing, that every job is stored as completed.
	var completed int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM river_job WHERE state = 'completed'").Scan(&completed); err != nil {
		return res, err
	}
	if completed != res.Jobs {
		return res, fmt.Errorf("river: %d jobs completed, want %d", completed, res.Jobs)
	}
	if err := db.Close(); err != nil { // the last connection checkpoints the WAL
		return res, err
	}
	res.BytesAfter, err = fileSize(path)
	return res, err
}
