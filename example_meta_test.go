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

// InvoiceArgs bills one order.
type InvoiceArgs struct {
	Order int `json:"order"`
}

func (InvoiceArgs) Kind() string { return "invoice" }

// tenantKey carries the tenant of a request in a context.
type tenantKey struct{}

// Metadata travels with a job from its enqueue to its worker (on every
// attempt, through retries, recovery and the dead set): here the caller
// sets a request id, and an enqueue middleware stamps every job with the
// tenant of the request that enqueued it, so the worker (and any worker
// middleware) knows it without putting it in every args struct.
func ExampleEnqueueMiddleware() {
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

	stampTenant := func(ctx context.Context, job *joblot.EnqueueJob, next func(context.Context) error) error {
		if tenant, ok := ctx.Value(tenantKey{}).(string); ok {
			job.SetMeta("tenant", tenant)
		}
		return next(ctx)
	}
	client := joblot.NewClient(store, joblot.ClientConfig{Middleware: []joblot.EnqueueMiddleware{stampTenant}})

	done := make(chan struct{})
	workers := joblot.NewWorkers()
	joblot.AddWorker(workers, joblot.WorkFunc[InvoiceArgs](func(ctx context.Context, job *joblot.Job[InvoiceArgs]) error {
		fmt.Printf("invoice %d for tenant %s (request %s)\n", job.Args.Order, job.Meta["tenant"], job.Meta["request_id"])
		close(done)
		return nil
	}), nil)

	reqCtx := context.WithValue(ctx, tenantKey{}, "acme")
	opts := &joblot.EnqueueOpts{Meta: map[string]string{"request_id": "r-42"}}
	if _, err := client.Enqueue(reqCtx, InvoiceArgs{Order: 7}, opts); err != nil {
		log.Fatal(err)
	}

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
	if err := server.Stop(stopCtx); err != nil {
		log.Fatal(err)
	}
	// Output:
	// invoice 7 for tenant acme (request r-42)
}
