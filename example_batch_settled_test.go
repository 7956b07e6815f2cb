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

// PageCrawlArgs crawls one page of a site.
type PageCrawlArgs struct {
	Page int `json:"page"`
}

func (PageCrawlArgs) Kind() string { return "crawl" }

// PageCrawlSettledArgs is the crawl batch's settled callback.
type PageCrawlSettledArgs struct {
	Site string `json:"site"`
}

func (PageCrawlSettledArgs) Kind() string { return "crawl_settled" }

// OnSettled fires once nothing in the batch is pending or retrying: every
// job has succeeded or ended (died, was discarded or cancelled). OnComplete
// would fire earlier, while failed jobs still wait for their retries; wait
// on OnSettled for "every job is done, one way or another".
func ExampleBatchOpts_onSettled() {
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

	done := make(chan struct{})
	workers := joblot.NewWorkers()
	joblot.AddWorker(workers, joblot.WorkFunc[PageCrawlArgs](func(ctx context.Context, job *joblot.Job[PageCrawlArgs]) error {
		switch {
		case job.Args.Page == 3:
			return errors.New("page 3: 404") // fails every attempt: dies
		case job.Args.Page == 4 && job.Attempt == 1:
			return errors.New("page 4: timeout") // succeeds on its retry
		}
		return nil
	}), &joblot.WorkerOpts{
		MaxRetries:  2,
		RetryPolicy: joblot.RetryPolicyFunc(func(int) time.Duration { return 10 * time.Millisecond }),
	})
	joblot.AddWorker(workers, joblot.WorkFunc[PageCrawlSettledArgs](func(ctx context.Context, job *joblot.Job[PageCrawlSettledArgs]) error {
		st, err := client.BatchStatus(ctx, job.CallbackOf)
		if err != nil {
			return err
		}
		fmt.Printf("crawl of %s: %s; %d succeeded, %d dead, %d retrying\n",
			job.Args.Site, st.Summary(), st.Succeeded, st.Dead, st.Failing)
		close(done)
		return nil
	}), nil)

	batch, err := client.NewBatch(ctx, joblot.BatchOpts{
		Description: "crawl example.com",
		OnSettled:   &joblot.Callback{Args: PageCrawlSettledArgs{Site: "example.com"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	params := make([]joblot.EnqueueParams, 5)
	for i := range params {
		params[i] = joblot.EnqueueParams{Args: PageCrawlArgs{Page: i + 1}}
	}
	if err := batch.Add(ctx, params...); err != nil {
		log.Fatal(err)
	}
	if err := batch.Commit(ctx); err != nil {
		log.Fatal(err)
	}

	server, err := joblot.NewServer(store, joblot.ServerConfig{Workers: workers, PollInterval: 20 * time.Millisecond, ForwardInterval: 50 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	if err := server.Start(ctx); err != nil {
		log.Fatal(err)
	}
	<-done
	stopCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_ = server.Stop(stopCtx)
	// Output: crawl of example.com: complete, settled; 4 succeeded, 1 dead, 0 retrying
}
