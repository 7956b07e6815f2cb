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

// ImportArgs imports one file.
type ImportArgs struct {
	File string `json:"file"`
}

func (ImportArgs) Kind() string { return "import" }

// CancelJob stops a job from running: a scheduled one is removed, a queued
// one is dropped when its turn comes, and a running one has its context
// cancelled with cause ErrJobCancelled. Unless it returns success first,
// the attempt ends cancelled and is not retried.
func ExampleClient_CancelJob() {
	ctx := context.Background()
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

	started := make(chan struct{})
	stopped := make(chan string, 1) // what the import saw; printed by the example, in order
	workers := joblot.NewWorkers()
	joblot.AddWorker(workers, joblot.WorkFunc[ImportArgs](func(ctx context.Context, job *joblot.Job[ImportArgs]) error {
		close(started)
		<-ctx.Done() // a long import that honours its context
		stopped <- fmt.Sprintf("import of %s stopped: cancelled: %v", job.Args.File, errors.Is(context.Cause(ctx), joblot.ErrJobCancelled))
		return ctx.Err()
	}), nil)

	client := joblot.NewClient(store, joblot.ClientConfig{})
	later, err := client.Enqueue(ctx, ImportArgs{File: "tomorrow.csv"}, &joblot.EnqueueOpts{Delay: 24 * time.Hour})
	if err != nil {
		log.Fatal(err)
	}
	now, err := client.Enqueue(ctx, ImportArgs{File: "big.csv"}, nil)
	if err != nil {
		log.Fatal(err)
	}
	server, err := joblot.NewServer(store, joblot.ServerConfig{Workers: workers})
	if err != nil {
		log.Fatal(err)
	}
	if err := server.Start(ctx); err != nil {
		log.Fatal(err)
	}

	r, err := client.CancelJob(ctx, joblot.DefaultQueue, later.ID)
	fmt.Println("scheduled job:", r, err)
	<-started
	r, err = client.CancelJob(ctx, joblot.DefaultQueue, now.ID)
	fmt.Println("running job:", r, err)
	fmt.Println(<-stopped)

	stopCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := server.Stop(stopCtx); err != nil { // every result is stored once Stop returns
		log.Fatal(err)
	}
	stats, err := client.Stats(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("cancelled %d, processed %d, failed %d\n", stats.Cancelled, stats.Processed, stats.Failed)
	_, err = client.CancelJob(ctx, joblot.DefaultQueue, now.ID)
	fmt.Println("again:", errors.Is(err, joblot.ErrJobNotFound))
	// Output:
	// scheduled job: removed <nil>
	// running job: running <nil>
	// import of big.csv stopped: cancelled: true
	// cancelled 2, processed 0, failed 0
	// again: true
}
