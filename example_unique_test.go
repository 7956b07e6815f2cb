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

// SyncAccountArgs synchronises one account with a remote system.
type SyncAccountArgs struct {
	Account int    `json:"account"`
	Reason  string `json:"reason"`
}

func (SyncAccountArgs) Kind() string { return "sync_account" }

// A unique job is not stored again while a job with the same unique key
// waits or runs in its queue: the duplicate's result names the job already
// there. Here the key is the kind and the account (ArgsFields), whatever
// the reason; once the job has run, the lock is free again.
func ExampleUniqueOpts() {
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

	client := joblot.NewClient(store, joblot.ClientConfig{})
	unique := &joblot.EnqueueOpts{Unique: &joblot.UniqueOpts{ArgsFields: []string{"account"}}}
	first, err := client.Enqueue(ctx, SyncAccountArgs{Account: 7, Reason: "signup"}, unique)
	if err != nil {
		log.Fatal(err)
	}
	again, err := client.Enqueue(ctx, SyncAccountArgs{Account: 7, Reason: "profile edit"}, unique)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("second enqueue skipped: %v, duplicate of the first: %v\n", again.SkippedAsDuplicate, again.ID == first.ID)

	done := make(chan struct{})
	workers := joblot.NewWorkers()
	joblot.AddWorker(workers, joblot.WorkFunc[SyncAccountArgs](func(ctx context.Context, job *joblot.Job[SyncAccountArgs]) error {
		fmt.Printf("synced account %d (%s)\n", job.Args.Account, job.Args.Reason)
		close(done)
		return nil
	}), nil)
	server, err := joblot.NewServer(store, joblot.ServerConfig{Workers: workers})
	if err != nil {
		log.Fatal(err)
	}
	if err := server.Start(ctx); err != nil {
		log.Fatal(err)
	}
	<-done
	stopCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := server.Stop(stopCtx); err != nil { // waits for the job's ack, which frees the lock
		log.Fatal(err)
	}

	later, err := client.Enqueue(ctx, SyncAccountArgs{Account: 7, Reason: "nightly"}, unique)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("after it ran, enqueue skipped: %v\n", later.SkippedAsDuplicate)
	// Output:
	// second enqueue skipped: true, duplicate of the first: true
	// synced account 7 (signup)
	// after it ran, enqueue skipped: false
}
