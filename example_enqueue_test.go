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

// NotifyArgs notifies one user on a channel.
type NotifyArgs struct {
	User    int    `json:"user"`
	Channel string `json:"channel"`
}

func (NotifyArgs) Kind() string { return "notify" }

// EnqueueMany stores many jobs in one round trip per chunk of
// ClientConfig.EnqueueChunk jobs. Each job may go to its own queue. Every
// job is validated first, so bad input stores nothing.
func ExampleClient_EnqueueMany() {
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
	client := joblot.NewClient(store, joblot.ClientConfig{EnqueueChunk: 100}) // 250 jobs: 3 round trips

	params := make([]joblot.EnqueueParams, 250)
	for i := range params {
		channel := "email"
		if i%5 == 0 {
			channel = "sms" // every fifth user prefers SMS, on its own queue
		}
		params[i] = joblot.EnqueueParams{
			Args: NotifyArgs{User: i, Channel: channel},
			Opts: joblot.EnqueueOpts{Queue: channel},
		}
	}
	ids, err := client.EnqueueMany(ctx, params)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("enqueued:", len(ids))

	st, err := joblot.NewInspector(store).Stats(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, q := range []string{"email", "sms"} {
		qs, _ := st.Queue(q)
		fmt.Printf("%s queue: %d waiting\n", q, qs.Size)
	}
	// Output:
	// enqueued: 250
	// email queue: 200 waiting
	// sms queue: 50 waiting
}

// EnqueueOpts choose a job's queue, when it runs (Delay, or RunAt which
// wins over Delay) and its retry budget. A job scheduled in the future
// waits in its queue's scheduled set; servers move it to the queue when it
// is due.
func ExampleEnqueueOpts() {
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

	ran := make(chan NotifyArgs, 2)
	workers := joblot.NewWorkers()
	joblot.AddWorker(workers, joblot.WorkFunc[NotifyArgs](func(ctx context.Context, job *joblot.Job[NotifyArgs]) error {
		ran <- job.Args
		return nil
	}), nil)

	now := &joblot.EnqueueOpts{Queue: "digest", MaxRetries: 3}
	later := &joblot.EnqueueOpts{Queue: "digest", MaxRetries: 3, Delay: time.Hour}
	if _, err := client.Enqueue(ctx, NotifyArgs{User: 1, Channel: "email"}, now); err != nil {
		log.Fatal(err)
	}
	if _, err := client.Enqueue(ctx, NotifyArgs{User: 2, Channel: "email"}, later); err != nil {
		log.Fatal(err)
	}

	server, err := joblot.NewServer(store, joblot.ServerConfig{Workers: workers, Queues: map[string]int{"digest": 1}})
	if err != nil {
		log.Fatal(err)
	}
	if err := server.Start(ctx); err != nil {
		log.Fatal(err)
	}
	fmt.Println("ran user", (<-ran).User)
	stopCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := server.Stop(stopCtx); err != nil {
		log.Fatal(err)
	}

	insp := joblot.NewInspector(store)
	st, err := insp.Stats(ctx)
	if err != nil {
		log.Fatal(err)
	}
	digest, _ := st.Queue("digest")
	fmt.Println("scheduled:", digest.Scheduled)
	for job, err := range insp.Jobs(ctx, joblot.JobFilter{Set: joblot.SetScheduled, Queue: "digest"}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s job due in about %v, %d retries\n", job.Kind, time.Until(job.RunAt).Round(time.Hour), job.MaxRetries)
	}
	// Output:
	// ran user 1
	// scheduled: 1
	// notify job due in about 1h0m0s, 3 retries
}
