package joblot_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend/bolt"
)

// CrawlArgs crawls one page and the links below it, down to depth 2.
type CrawlArgs struct {
	Page  string `json:"page"`
	Depth int    `json:"depth"`
}

func (CrawlArgs) Kind() string { return "crawl" }

// CrawlDoneArgs is the crawl batch's success callback.
type CrawlDoneArgs struct{}

func (CrawlDoneArgs) Kind() string { return "crawl_done" }

// Inside a batch job, BatchFromContext returns the job's batch: jobs added
// there join it, so the batch succeeds only once they have too, and its
// success callback runs once, at the very end. Adds from a job are
// idempotent: if the job runs again, nothing is added twice. (Batch.NewChild
// creates a child batch the same way.)
func ExampleBatchFromContext() {
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

	var callbacks atomic.Int32
	done := make(chan struct{})
	workers := joblot.NewWorkers()
	joblot.AddWorker(workers, joblot.WorkFunc[CrawlArgs](func(ctx context.Context, job *joblot.Job[CrawlArgs]) error {
		if job.Args.Depth == 2 {
			return nil
		}
		batch, err := joblot.BatchFromContext(ctx)
		if err != nil {
			return err // ErrNotInBatch outside a batch
		}
		return batch.Add(ctx, // two links per page
			joblot.EnqueueParams{Args: CrawlArgs{Page: job.Args.Page + "/a", Depth: job.Args.Depth + 1}},
			joblot.EnqueueParams{Args: CrawlArgs{Page: job.Args.Page + "/b", Depth: job.Args.Depth + 1}},
		)
	}), nil)
	joblot.AddWorker(workers, joblot.WorkFunc[CrawlDoneArgs](func(ctx context.Context, job *joblot.Job[CrawlDoneArgs]) error {
		st, err := client.BatchStatus(ctx, job.CallbackOf)
		if err != nil {
			return err
		}
		fmt.Printf("crawl done: %d of %d pages succeeded\n", st.Succeeded, st.Total)
		if callbacks.Add(1) == 1 {
			close(done)
		}
		return nil
	}), nil)

	batch, err := client.NewBatch(ctx, joblot.BatchOpts{OnSuccess: &joblot.Callback{Args: CrawlDoneArgs{}}})
	if err != nil {
		log.Fatal(err)
	}
	if err := batch.Add(ctx, joblot.EnqueueParams{Args: CrawlArgs{Page: "/"}}); err != nil {
		log.Fatal(err)
	}
	if err := batch.Commit(ctx); err != nil {
		log.Fatal(err)
	}

	server, err := joblot.NewServer(store, joblot.ServerConfig{Workers: workers, ForwardInterval: 50 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	if err := server.Start(ctx); err != nil {
		log.Fatal(err)
	}
	<-done
	stopCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := server.Stop(stopCtx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("success callbacks run:", callbacks.Load())
	// Output:
	// crawl done: 7 of 7 pages succeeded
	// success callbacks run: 1
}
