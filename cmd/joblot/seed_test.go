package main

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/bolt"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/redistest"
)

// testStore is a fresh store of one backend: the flags that select it and
// a way to open its backend directly, to seed it and check the outcome.
type testStore struct {
	name  string
	flags []string
	open  func(t *testing.T) backend.Backend
	// srv is the Redis server (nil for the file).
	srv *redistest.Server
}

// testStores returns a fresh Redis and a fresh file store.
func testStores(t *testing.T) []testStore {
	srv := redistest.Start(t)
	path := filepath.Join(t.TempDir(), "joblot.db")
	return []testStore{
		{name: "redis", flags: []string{"--redis", srv.URL}, srv: srv, open: func(t *testing.T) backend.Backend {
			b, err := redis.Open(context.Background(), redis.Options{URL: srv.URL})
			if err != nil {
				t.Fatal(err)
			}
			return b
		}},
		{name: "file", flags: []string{"--db", path}, open: func(t *testing.T) backend.Backend {
			b, err := bolt.Open(path, bolt.Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			return b
		}},
	}
}

// seedSpec is one group of jobs to create in a set.
type seedSpec struct {
	set         backend.JobSet
	queue, kind string
	batch       string
	errMsg, fp  string
	n           int
}

// seed creates the groups of jobs and returns their IDs per group index.
// Scheduled jobs are enqueued an hour ahead; retry and dead jobs are
// enqueued, fetched and completed with that outcome, as a server would.
func seed(t *testing.T, b backend.Backend, specs []seedSpec) [][]string {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	ids := make([][]string, len(specs))
	outcome := map[string]seedSpec{}
	queues := map[string]bool{}
	for i, s := range specs {
		jobs := make([]*backend.Job, s.n)
		for k := range jobs {
			jobs[k] = &backend.Job{ID: backend.NewJobID(), Kind: s.kind, Queue: s.queue, Args: []byte(fmt.Sprintf(`{"n":%d}`, k)), CreatedAt: now}
			if s.set == backend.SetScheduled {
				jobs[k].RunAt = now.Add(time.Hour)
			}
			ids[i] = append(ids[i], jobs[k].ID)
			outcome[jobs[k].ID] = s
		}
		queues[s.queue] = true
		var err error
		if s.batch != "" {
			if err = b.CreateBatch(ctx, &backend.BatchSpec{ID: s.batch, CreatedAt: now, CommitDeadline: now.Add(time.Hour)}); err == nil {
				err = b.AddToBatch(ctx, &backend.BatchAdd{BatchID: s.batch, Jobs: jobs})
			}
		} else {
			_, err = b.Enqueue(ctx, jobs)
		}
		if err != nil {
			t.Fatalf("seed %+v: %v", s, err)
		}
	}
	var qs []string
	for q := range queues {
		qs = append(qs, q)
	}
	for {
		fr, err := b.Fetch(ctx, backend.FetchParams{Proc: "seeder", Queues: qs, Max: 100})
		fetched := fr.Jobs
		if err != nil {
			t.Fatal(err)
		}
		if len(fetched) == 0 {
			return ids
		}
		results := make([]backend.Result, 0, len(fetched))
		for _, f := range fetched {
			s := outcome[f.ID]
			j := f.Job.Clone()
			j.Attempt++
			j.ErrorClass, j.ErrorMessage, j.ErrorFingerprint, j.FailedAt = "Error", s.errMsg, s.fp, now
			r := backend.Result{Fetched: f, Job: j, Duration: time.Millisecond}
			switch s.set {
			case backend.SetRetry:
				r.Outcome, r.RetryAt = backend.OutcomeRetry, now.Add(time.Hour)
			case backend.SetDead:
				r.Outcome, j.DiedAt = backend.OutcomeDead, now
			default:
				t.Fatalf("seed: job %s of set %s was fetched", f.ID, s.set)
			}
			results = append(results, r)
		}
		if err := b.Complete(ctx, "seeder", results); err != nil {
			t.Fatal(err)
		}
	}
}
