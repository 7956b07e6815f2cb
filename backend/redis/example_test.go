package redis_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/redistest"
)

// Two applications share one Redis, each under its own key prefix: the
// same queue name holds each application's own jobs, and neither sees
// the other's. The prefix goes in Options.Prefix or in the URL
// (?prefix=), so that store.Open and the joblot command (--prefix, or the
// same URL) pick it up too.
func ExampleOptions_prefix() {
	ctx := context.Background()
	// A private redis-server for the example; use your own address.
	dir, err := os.MkdirTemp("", "joblot-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	srv, err := redistest.StartServer(dir, redistest.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Stop()

	billing, err := redis.Open(ctx, redis.Options{URL: srv.URL, Prefix: "billing"})
	if err != nil {
		log.Fatal(err)
	}
	defer billing.Close()
	mail, err := redis.Open(ctx, redis.Options{URL: srv.URL + "/0?prefix=mail"})
	if err != nil {
		log.Fatal(err)
	}
	defer mail.Close()

	for app, n := range map[*redis.Backend]int{billing: 2, mail: 3} {
		var jobs []*backend.Job
		for range n {
			jobs = append(jobs, &backend.Job{ID: backend.NewJobID(), Kind: "work", Queue: "default", Args: []byte(`{}`), CreatedAt: time.Now()})
		}
		if _, err := app.Enqueue(ctx, jobs); err != nil {
			log.Fatal(err)
		}
	}
	for _, app := range []*redis.Backend{billing, mail} {
		st, err := app.Stats(ctx, time.Now())
		if err != nil {
			log.Fatal(err)
		}
		for _, q := range st.Queues {
			fmt.Printf("%s: queue %s holds %d jobs\n", app.Prefix(), q.Name, q.Size)
		}
	}
	if _, err := redis.Open(ctx, redis.Options{URL: srv.URL, Prefix: "{billing}"}); err != nil {
		fmt.Println("refused:", err)
	}
	// Output:
	// billing: queue default holds 2 jobs
	// mail: queue default holds 3 jobs
	// refused: joblot/redis: bad key prefix: rediskeys: prefix "{billing}": only ASCII letters, digits, '_', '.' and '-' are allowed: a brace would move the keys' Redis Cluster hash tag
}
