package metrics_test

import (
	"context"
	"log"
	"net/http"
	"os"
	"path/filepath"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend/bolt"
	"github.com/joblot/joblot/metrics"
)

// Serve metrics from a process that runs jobs: the Collector observes every
// job the server runs and refreshes store gauges in the background.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := os.MkdirTemp("", "joblot-metrics-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	store, err := bolt.Open(filepath.Join(dir, "joblot.db"), bolt.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	collector := metrics.New(store, metrics.Options{})
	go collector.Run(ctx)
	http.Handle("/metrics", collector.Handler())

	server, err := joblot.NewServer(store, joblot.ServerConfig{
		Workers:  joblot.NewWorkers(),
		Observer: collector,
	})
	if err != nil {
		log.Fatal(err)
	}
	_ = server // server.Run(ctx), and http.ListenAndServe(":9090", nil)
}
