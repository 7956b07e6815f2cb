package joblot_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend/bolt"
)

// WebhookArgs delivers one webhook.
type WebhookArgs struct {
	Hook int `json:"hook"`
}

func (WebhookArgs) Kind() string { return "webhook" }

// The Inspector lists jobs by set with filters and acts on them. Here the
// webhook endpoint was down: the jobs that died of it (kind "webhook",
// error "502") are found and retried once it is back; the job that died of
// another error stays dead.
func ExampleInspector() {
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

	var endpointUp atomic.Bool
	var failed sync.WaitGroup
	failed.Add(3)
	delivered := make(chan int, 3)
	workers := joblot.NewWorkers()
	joblot.AddWorker(workers, joblot.WorkFunc[WebhookArgs](func(ctx context.Context, job *joblot.Job[WebhookArgs]) error {
		switch {
		case job.Args.Hook == 3:
			defer failed.Done()
			return errors.New("HTTP 404 from /hooks/3")
		case !endpointUp.Load():
			defer failed.Done()
			return fmt.Errorf("HTTP 502 from /hooks/%d", job.Args.Hook)
		}
		delivered <- job.Args.Hook
		return nil
	}), nil)
	for hook := 1; hook <= 3; hook++ {
		if _, err := client.Enqueue(ctx, WebhookArgs{Hook: hook}, &joblot.EnqueueOpts{MaxRetries: joblot.NoRetries}); err != nil {
			log.Fatal(err)
		}
	}
	run := func(wait func()) { // runs a server until wait returns
		server, err := joblot.NewServer(store, joblot.ServerConfig{Workers: workers})
		if err != nil {
			log.Fatal(err)
		}
		if err := server.Start(ctx); err != nil {
			log.Fatal(err)
		}
		wait()
		stopCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if err := server.Stop(stopCtx); err != nil {
			log.Fatal(err)
		}
	}
	run(failed.Wait) // all three die: no retries

	insp := joblot.NewInspector(store)
	down := joblot.JobFilter{Set: joblot.SetDead, Kind: "webhook", ErrorContains: "502"}
	var errs []string
	for job, err := range insp.Jobs(ctx, down) { // page by page, newest first
		if err != nil {
			log.Fatal(err)
		}
		errs = append(errs, job.ErrorMessage)
	}
	slices.Sort(errs) // stable output
	fmt.Printf("dead of the outage: %q\n", errs)
	endpointUp.Store(true)
	n, err := insp.RetryJobs(ctx, down)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("retried:", n)

	var hooks []int
	run(func() { hooks = append(hooks, <-delivered, <-delivered) })
	slices.Sort(hooks)
	fmt.Println("delivered hooks:", hooks)
	st, err := insp.Stats(ctx)
	if err != nil {
		log.Fatal(err)
	}
	def, _ := st.Queue(joblot.DefaultQueue)
	fmt.Println("still dead:", def.Dead)
	// Output:
	// dead of the outage: ["HTTP 502 from /hooks/1" "HTTP 502 from /hooks/2"]
	// retried: 2
	// delivered hooks: [1 2]
	// still dead: 1
}
