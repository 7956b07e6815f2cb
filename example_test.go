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

// EmailArgs is a job's args: a plain struct with a Kind, encoded as JSON.
type EmailArgs struct {
	To string `json:"to"`
}

// Kind names the job type; stored jobs refer to it, so keep it stable.
func (EmailArgs) Kind() string { return "email" }

// Define a job, register a typed worker, enqueue, and run a server.
func Example() {
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

	done := make(chan struct{})
	workers := joblot.NewWorkers()
	joblot.AddWorker(workers, joblot.WorkFunc[EmailArgs](func(ctx context.Context, job *joblot.Job[EmailArgs]) error {
		fmt.Printf("sending mail to %s (attempt %d)\n", job.Args.To, job.Attempt)
		close(done)
		return nil
	}), nil)

	client := joblot.NewClient(store, joblot.ClientConfig{})
	if _, err := client.Enqueue(ctx, EmailArgs{To: "ada@example.com"}, &joblot.EnqueueOpts{Queue: "mail"}); err != nil {
		log.Fatal(err)
	}

	server, err := joblot.NewServer(store, joblot.ServerConfig{
		Workers: workers,
		Queues:  map[string]int{"mail": 2, "default": 1}, // "mail" is tried first twice as often
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
	// Output: sending mail to ada@example.com (attempt 1)
}
