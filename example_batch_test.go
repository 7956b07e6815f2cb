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

// ResizeArgs resizes one image of an import.
type ResizeArgs struct {
	Image int `json:"image"`
}

func (ResizeArgs) Kind() string { return "resize" }

// ImportDoneArgs is the import batch's success callback.
type ImportDoneArgs struct {
	Album string `json:"album"`
}

func (ImportDoneArgs) Kind() string { return "import_done" }

// A batch groups jobs; its success callback runs once, when every job has
// succeeded. Populate it in as many Add calls as you like, then Commit.
func ExampleClient_NewBatch() {
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
	joblot.AddWorker(workers, joblot.WorkFunc[ResizeArgs](func(ctx context.Context, job *joblot.Job[ResizeArgs]) error {
		return nil // resize job.Args.Image
	}), nil)
	joblot.AddWorker(workers, joblot.WorkFunc[ImportDoneArgs](func(ctx context.Context, job *joblot.Job[ImportDoneArgs]) error {
		st, err := client.BatchStatus(ctx, job.CallbackOf)
		if err != nil {
			return err
		}
		fmt.Printf("album %s imported: %d of %d images succeeded\n", job.Args.Album, st.Succeeded, st.Total)
		close(done)
		return nil
	}), nil)

	batch, err := client.NewBatch(ctx, joblot.BatchOpts{
		Description: "import album 7",
		OnSuccess:   &joblot.Callback{Args: ImportDoneArgs{Album: "7"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	for chunk := 0; chunk < 3; chunk++ { // stream the population in chunks
		params := make([]joblot.EnqueueParams, 100)
		for i := range params {
			params[i] = joblot.EnqueueParams{Args: ResizeArgs{Image: chunk*100 + i}}
		}
		if err := batch.Add(ctx, params...); err != nil {
			log.Fatal(err)
		}
	}
	if err := batch.Commit(ctx); err != nil {
		log.Fatal(err)
	}

	server, err := joblot.NewServer(store, joblot.ServerConfig{Workers: workers, PollInterval: 50 * time.Millisecond, ForwardInterval: 50 * time.Millisecond})
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
	// Output: album 7 imported: 300 of 300 images succeeded
}
