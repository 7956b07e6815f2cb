package joblot_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/bolt"
)

// LoadArgs loads one file.
type LoadArgs struct {
	File string `json:"file"`
}

func (LoadArgs) Kind() string { return "load-file" }

// LoadResult is what a load job leaves behind.
type LoadResult struct {
	Rows    int `json:"rows"`
	Skipped int `json:"skipped"`
}

// A worker reports its progress while it runs and leaves an output when it
// succeeds; an operator (or a web page) reads both with Inspector.JobOutput
// or `joblot job show ID --queue Q`. SetProgress calls are coalesced (one
// store write per ServerConfig.ProgressInterval at most), so calling it for
// every row is fine. The output is kept for a day after the success
// (backend.Limits.OutputTTL) within a global byte cap.
func ExampleSetOutput() {
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

	halfway, finish := make(chan struct{}), make(chan struct{})
	workers := joblot.NewWorkers()
	joblot.AddWorker(workers, joblot.WorkFunc[LoadArgs](func(ctx context.Context, job *joblot.Job[LoadArgs]) error {
		const rows = 1000
		for i := 1; i <= rows; i++ {
			if err := joblot.SetProgress(ctx, i*100/rows, fmt.Sprintf("row %d of %d", i, rows)); err != nil {
				return err
			}
			if i == rows/2 {
				close(halfway)
				<-finish // let the example look at the job while it runs
			}
		}
		return joblot.SetOutput(ctx, LoadResult{Rows: rows, Skipped: 3})
	}), nil)

	client := joblot.NewClient(store, joblot.ClientConfig{})
	job, err := client.Enqueue(ctx, LoadArgs{File: "customers.csv"}, nil)
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
	inspector := joblot.NewInspector(store)

	// While it runs: its progress, once the first write has landed (the
	// first call writes at once, later ones at most once a second).
	<-halfway
	var running *backend.JobOutput
	for deadline := time.Now().Add(10 * time.Second); running == nil && time.Now().Before(deadline); {
		if running, err = inspector.JobOutput(ctx, joblot.DefaultQueue, job.ID); err != nil {
			time.Sleep(5 * time.Millisecond)
		}
	}
	if running == nil {
		log.Fatal("no progress recorded: ", err)
	}
	fmt.Printf("running: succeeded=%v, has progress=%v\n", running.Succeeded, running.HasProgress)
	close(finish)

	stopCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := server.Stop(stopCtx); err != nil { // records the success and its output
		log.Fatal(err)
	}
	done, err := inspector.JobOutput(ctx, joblot.DefaultQueue, job.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("done: succeeded=%v, %d%% %q, output %s\n", done.Succeeded, done.Progress, done.Note, done.Output)
	// Output:
	// running: succeeded=false, has progress=true
	// done: succeeded=true, 100% "row 1000 of 1000", output {"rows":1000,"skipped":3}
}
