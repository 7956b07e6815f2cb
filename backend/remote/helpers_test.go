package remote_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/bolt"
	"github.com/joblot/joblot/backend/remote"
)

// shortDir returns a fresh directory with a short path: unix socket paths
// are limited to ~104 bytes and t.TempDir embeds the test's name.
func shortDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "jlr")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// openStore opens a fresh embedded store at dbPath, closed at cleanup.
func openStore(t testing.TB, dbPath string, limits backend.Limits) backend.Backend {
	t.Helper()
	b, err := bolt.Open(dbPath, bolt.Options{Limits: limits, NoSync: true, NoLocalEndpoint: true})
	if err != nil {
		t.Fatalf("bolt.Open: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// owner is a store served on its socket, as the owning process runs it.
type owner struct {
	dbPath string
	b      backend.Backend
	stop   context.CancelFunc
	served chan error
}

// serve opens a store in a fresh directory and serves it until stopped (or
// the test ends).
func serve(t testing.TB, limits backend.Limits) *owner {
	t.Helper()
	dbPath := filepath.Join(shortDir(t), "joblot.db")
	return serveBackend(t, dbPath, openStore(t, dbPath, limits))
}

// serveBackend serves b for dbPath until stopped (or the test ends).
func serveBackend(t testing.TB, dbPath string, b backend.Backend) *owner {
	t.Helper()
	l, err := remote.Listen(dbPath)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	o := &owner{dbPath: dbPath, b: b, stop: cancel, served: make(chan error, 1)}
	go func() { o.served <- remote.Serve(ctx, l, b) }()
	// Registered after openStore's cleanup, so it runs first: the server
	// stops before the store closes.
	t.Cleanup(func() { o.shutdown(t) })
	return o
}

// shutdown stops the server and waits for Serve to return.
func (o *owner) shutdown(t testing.TB) {
	t.Helper()
	o.stop()
	if err, ok := <-o.served; ok {
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
		close(o.served)
	}
}

// dial connects a client to o, closed at cleanup.
func (o *owner) dial(t testing.TB) *remote.Client {
	t.Helper()
	c, err := remote.Dial(context.Background(), o.dbPath)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
