package joblototel_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend/bolt"
	joblototel "github.com/joblot/joblot/otel"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// ResizeArgs resizes one photo.
type ResizeArgs struct {
	Photo int `json:"photo"`
}

func (ResizeArgs) Kind() string { return "resize" }

// Trace jobs from the request that enqueues them to each attempt: one
// Middleware goes into the client (Enqueue) and the server (Work). The
// job's attempt runs in a span whose parent is the enqueue's span, itself
// a child of the request's span.
func Example() {
	ctx := context.Background()
	// In production, a TracerProvider with an OTLP exporter; here an
	// in-memory one, to print the spans.
	exporter := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exporter))
	defer tp.Shutdown(ctx)
	mw := joblototel.New(joblototel.Config{TracerProvider: tp})

	// The embedded store, in a temporary directory.
	dir, err := os.MkdirTemp("", "joblot-otel-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	store, err := bolt.Open(filepath.Join(dir, "joblot.db"), bolt.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	client := joblot.NewClient(store, joblot.ClientConfig{
		Middleware: []joblot.EnqueueMiddleware{mw.Enqueue},
	})
	done := make(chan struct{})
	workers := joblot.NewWorkers()
	joblot.AddWorker(workers, joblot.WorkFunc[ResizeArgs](func(ctx context.Context, job *joblot.Job[ResizeArgs]) error {
		defer close(done)
		return nil // ctx carries the attempt's span: spans started here are its children
	}), nil)
	server, err := joblot.NewServer(store, joblot.ServerConfig{
		Workers:    workers,
		Queues:     map[string]int{"images": 1},
		Client:     client,                       // adds from inside jobs are traced too
		Middleware: []joblot.Middleware{mw.Work}, // first, so that its span covers the others
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := server.Start(ctx); err != nil {
		log.Fatal(err)
	}

	reqCtx, request := tp.Tracer("web").Start(ctx, "POST /photos")
	if _, err := client.Enqueue(reqCtx, ResizeArgs{Photo: 7}, &joblot.EnqueueOpts{Queue: "images"}); err != nil {
		log.Fatal(err)
	}
	request.End()
	<-done
	stopCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := server.Stop(stopCtx); err != nil { // waits for the attempt's span to end
		log.Fatal(err)
	}

	spans := exporter.GetSpans()
	slices.SortFunc(spans, func(a, b tracetest.SpanStub) int { return a.StartTime.Compare(b.StartTime) })
	name := map[string]string{}
	for _, s := range spans {
		name[s.SpanContext.SpanID().String()] = s.Name
	}
	for _, s := range spans {
		parent := "no parent"
		if s.Parent.IsValid() {
			parent = "child of " + name[s.Parent.SpanID().String()]
		}
		fmt.Printf("%s (%s), %s\n", s.Name, s.SpanKind, parent)
	}
	// Output:
	// POST /photos (internal), no parent
	// enqueue images (producer), child of POST /photos
	// process images (consumer), child of enqueue images
}
