package joblot_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend/bolt"
)

// ExportArgs exports one report once its data is ready.
type ExportArgs struct {
	Report int `json:"report"`
}

func (ExportArgs) Kind() string { return "export" }

// A worker that cannot make progress yet snoozes its job: the job waits in
// the scheduled set and runs again later, without using a retry (Attempt
// stays 1) and without counting as a failure. Snoozes are capped
// (WorkerOpts.MaxSnoozes, default 100); beyond the cap a snooze fails.
func ExampleJobSnooze() {
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

	done := make(chan struct{})
	workers := joblot.NewWorkers()
	joblot.AddWorker(workers, joblot.WorkFunc[ExportArgs](func(ctx context.Context, job *joblot.Job[ExportArgs]) error {
		if job.Snoozes < 2 { // the data is not ready yet
			fmt.Printf("report %d: attempt %d, snoozed %d times: not ready\n", job.Args.Report, job.Attempt, job.Snoozes)
			return joblot.JobSnooze(10 * time.Millisecond)
		}
		fmt.Printf("report %d: attempt %d, snoozed %d times: exported\n", job.Args.Report, job.Attempt, job.Snoozes)
		close(done)
		return nil
	}), &joblot.WorkerOpts{MaxSnoozes: 10})

	client := joblot.NewClient(store, joblot.ClientConfig{})
	if _, err := client.Enqueue(ctx, ExportArgs{Report: 3}, nil); err != nil {
		log.Fatal(err)
	}
	server, err := joblot.NewServer(store, joblot.ServerConfig{
		Workers:      workers,
		PollInterval: 20 * time.Millisecond, // how soon a snoozed job is moved back to its queue once due
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
	if err := server.Stop(stopCtx); err != nil {
		log.Fatal(err)
	}
	stats, err := client.Stats(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("processed %d, failed %d\n", stats.Processed, stats.Failed)
	// Output:
	// report 3: attempt 1, snoozed 0 times: not ready
	// report 3: attempt 1, snoozed 1 times: not ready
	// report 3: attempt 1, snoozed 2 times: exported
	// processed 1, failed 0
}
