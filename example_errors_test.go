package joblot_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend/bolt"
)

// ChargeArgs charges a card; SyncArgs syncs a record; ParseArgs parses an
// uploaded file.
type (
	ChargeArgs struct{}
	SyncArgs   struct{}
	ParseArgs  struct{}
)

func (ChargeArgs) Kind() string { return "charge" }
func (SyncArgs) Kind() string   { return "sync" }
func (ParseArgs) Kind() string  { return "parse" }

// The error a Worker returns decides the job's outcome: a plain error is
// retried by the kind's retry policy until its retries run out, then the
// job dies; JobDiscard drops the job (counted, not kept); JobKill sends it
// straight to the dead set.
func ExampleWorker() {
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

	var finished sync.WaitGroup
	finished.Add(3)
	workers := joblot.NewWorkers()
	joblot.AddWorker(workers, joblot.WorkFunc[ChargeArgs](func(ctx context.Context, job *joblot.Job[ChargeArgs]) error {
		fmt.Printf("charge attempt %d, last error %q\n", job.Attempt, job.LastError)
		if job.Attempt == job.MaxRetries+1 {
			defer finished.Done()
		}
		return errors.New("card declined")
	}), &joblot.WorkerOpts{
		MaxRetries:  2,                                        // 3 attempts in all
		RetryPolicy: joblot.ConstantBackoff(time.Millisecond), // default: Sidekiq's curve
	})
	joblot.AddWorker(workers, joblot.WorkFunc[SyncArgs](func(ctx context.Context, job *joblot.Job[SyncArgs]) error {
		defer finished.Done()
		return joblot.JobDiscard(errors.New("record was deleted"))
	}), nil)
	joblot.AddWorker(workers, joblot.WorkFunc[ParseArgs](func(ctx context.Context, job *joblot.Job[ParseArgs]) error {
		defer finished.Done()
		return joblot.JobKill(errors.New("file is not CSV"))
	}), nil)

	for _, args := range []joblot.JobArgs{ChargeArgs{}, SyncArgs{}, ParseArgs{}} {
		if _, err := client.Enqueue(ctx, args, nil); err != nil {
			log.Fatal(err)
		}
	}
	server, err := joblot.NewServer(store, joblot.ServerConfig{Workers: workers, PollInterval: 20 * time.Millisecond})
	if err != nil {
		log.Fatal(err)
	}
	if err := server.Start(ctx); err != nil {
		log.Fatal(err)
	}
	finished.Wait()
	stopCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := server.Stop(stopCtx); err != nil { // records the last results
		log.Fatal(err)
	}

	insp := joblot.NewInspector(store)
	st, err := insp.Stats(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("processed %d, failed %d, discarded %d\n", st.Processed, st.Failed, st.Discarded)
	var dead []string
	for job, err := range insp.Jobs(ctx, joblot.JobFilter{Set: joblot.SetDead}) {
		if err != nil {
			log.Fatal(err)
		}
		dead = append(dead, fmt.Sprintf("dead: %s after %d attempt(s): %s", job.Kind, job.Attempt, job.ErrorMessage))
	}
	slices.Sort(dead) // listed newest first; sorted for a stable output
	fmt.Println(strings.Join(dead, "\n"))
	// Output:
	// charge attempt 1, last error ""
	// charge attempt 2, last error "card declined"
	// charge attempt 3, last error "card declined"
	// processed 5, failed 4, discarded 1
	// dead: charge after 3 attempt(s): card declined
	// dead: parse after 1 attempt(s): file is not CSV
}
