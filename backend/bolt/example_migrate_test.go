package bolt_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/bolt"
)

// Migrate at start-up, before opening the store: a dry run says what is
// pending, then the migration runs. In a rolling deploy the new binary
// migrates first and the workers roll after (see package backend).
func ExampleMigrate() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "joblot-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "joblot.db")

	// A store written by this joblot (its first write records the data
	// model).
	store, err := bolt.Open(path, bolt.Options{NoLocalEndpoint: true})
	if err != nil {
		log.Fatal(err)
	}
	job := &backend.Job{ID: "j1", Queue: "default", Kind: "email", Args: []byte(`{}`), CreatedAt: time.Unix(0, 0)}
	if _, err := store.Enqueue(ctx, []*backend.Job{job}); err != nil {
		log.Fatal(err)
	}
	store.Close()

	for _, dry := range []bool{true, false} {
		rep, err := bolt.Migrate(ctx, path, bolt.Options{}, backend.MigrateOptions{DryRun: dry})
		if err != nil {
			log.Fatal(err) // errors.Is(err, backend.ErrVersionTooNew): a newer joblot wrote it
		}
		fmt.Printf("dry run %v: version %d, this joblot writes %d, %d steps, applied %v\n",
			rep.DryRun, rep.Version, rep.Current, len(rep.Steps), rep.Applied)
	}
	// Output:
	// dry run true: version 4, this joblot writes 4, 0 steps, applied false
	// dry run false: version 4, this joblot writes 4, 0 steps, applied false
}
