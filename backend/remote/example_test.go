package remote_test

import (
	"context"
	"errors"
	"log"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/bolt"
	"github.com/joblot/joblot/backend/remote"
)

// The owner opens the store (taking its lock), then serves it next to the
// file for as long as it runs. bolt.Open does this by default; this is
// what it does, for a backend opened with NoLocalEndpoint.
func ExampleServe() {
	ctx := context.Background() // the process's lifetime
	b, err := bolt.Open("joblot.db", bolt.Options{NoLocalEndpoint: true})
	if err != nil {
		log.Fatal(err) // wraps backend.ErrLocked if another process owns it
	}
	defer b.Close()
	l, err := remote.Listen("joblot.db")
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		if err := remote.Serve(ctx, l, b); err != nil {
			log.Print(err)
		}
	}()
	// ... run the server on b ...
}

// A command works through the owner while one runs, and on the file
// otherwise.
func ExampleDial() {
	ctx := context.Background()
	var b backend.Backend
	c, err := remote.Dial(ctx, "joblot.db")
	switch {
	case err == nil:
		defer c.Close()
		b = c.Backend()
	case errors.Is(err, remote.ErrNoOwner):
		own, err := bolt.Open("joblot.db", bolt.Options{})
		if err != nil {
			log.Fatal(err)
		}
		defer own.Close()
		b = own
	default:
		log.Fatal(err)
	}
	stats, err := b.Stats(ctx, time.Now())
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("%d processed", stats.Processed)
}
