package joblot_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend/bolt"
)

// ThumbnailArgs renders one thumbnail.
type ThumbnailArgs struct {
	Photo int `json:"photo"`
}

func (ThumbnailArgs) Kind() string { return "thumbnail" }

// A Middleware wraps every attempt of every job: it sees the job's kind,
// queue, attempt and batch, calls next to run it, and returns its result
// (or its own). Here it logs each attempt; the job fails once and is
// retried.
func ExampleMiddleware() {
	ctx := context.Background()
	// The embedded store, in a temporary directory; with Redis, open
	// redis.Open(ctx, redis.Options{URL: "redis://localhost:6379"}) instead.
	dir, err := os.MkdirTemp("", "joblot-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	store, err := bolt.Open(filepath.Join(dir, "joblot.db"), bolt.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	client := joblot.NewClient(store, joblot.ClientConfig{})

	logAttempts := func(ctx context.Context, job *joblot.JobMeta, next func(context.Context) error) error {
		fmt.Printf("%s on %s: attempt %d of %d, in a batch: %t\n",
			job.Kind, job.Queue, job.Attempt, job.MaxRetries+1, job.BatchID != "")
		err := next(ctx)
		fmt.Printf("%s attempt %d: err=%v\n", job.Kind, job.Attempt, err)
		return err
	}

	done := make(chan struct{})
	workers := joblot.NewWorkers()
	joblot.AddWorker(workers, joblot.WorkFunc[ThumbnailArgs](func(ctx context.Context, job *joblot.Job[ThumbnailArgs]) error {
		if job.Attempt == 1 {
			return errors.New("storage busy")
		}
		close(done)
		return nil
	}), &joblot.WorkerOpts{
		MaxRetries:  2,
		RetryPolicy: joblot.ConstantBackoff(time.Millisecond),
	})

	batch, err := client.NewBatch(ctx, joblot.BatchOpts{Description: "album thumbnails"})
	if err != nil {
		log.Fatal(err)
	}
	if err := batch.Add(ctx, joblot.EnqueueParams{Args: ThumbnailArgs{Photo: 1}, Opts: joblot.EnqueueOpts{Queue: "images"}}); err != nil {
		log.Fatal(err)
	}
	if err := batch.Commit(ctx); err != nil {
		log.Fatal(err)
	}

	server, err := joblot.NewServer(store, joblot.ServerConfig{
		Workers:      workers,
		Queues:       map[string]int{"images": 1},
		Middleware:   []joblot.Middleware{logAttempts}, // first is outermost
		PollInterval: 20 * time.Millisecond,            // how soon the retry is moved back to its queue
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := server.Start(ctx); err != nil {
		log.Fatal(err)
	}
	<-done
	stopCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := server.Stop(stopCtx); err != nil { // waits for the middleware to return
		log.Fatal(err)
	}
	// Output:
	// thumbnail on images: attempt 1 of 3, in a batch: true
	// thumbnail attempt 1: err=storage busy
	// thumbnail on images: attempt 2 of 3, in a batch: true
	// thumbnail attempt 2: err=<nil>
}
