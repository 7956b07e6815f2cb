package remote_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// TestQuietThroughOwner: a quiet request sent through the endpoint reaches
// the owner's backend, and an unknown process keeps its sentinel error.
func TestQuietThroughOwner(t *testing.T) {
	ctx := context.Background()
	o := serve(t, backend.Limits{})
	c := o.dial(t)
	if err := o.b.Heartbeat(ctx, backend.ProcessInfo{ID: "w1"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := c.RequestQuiet(ctx, "w1"); err != nil {
		t.Fatalf("RequestQuiet: %v", err)
	}
	if q, err := o.b.(backend.Quieter).QuietRequested(ctx, "w1"); err != nil || !q {
		t.Fatalf("the owner's backend: QuietRequested = %v, %v", q, err)
	}
	if q, err := c.QuietRequested(ctx, "w1"); err != nil || !q {
		t.Fatalf("through the endpoint: QuietRequested = %v, %v", q, err)
	}
	if err := c.RequestQuiet(ctx, "nobody"); !errors.Is(err, backend.ErrProcessNotFound) {
		t.Fatalf("RequestQuiet(nobody) through the endpoint: %v, want ErrProcessNotFound", err)
	}
}

// plainBackend hides its backend's optional interfaces.
type plainBackend struct{ backend.Backend }

// TestQuietUnsupportedByOwner: an owner whose backend cannot quiet answers
// with errors.ErrUnsupported, which the server takes as "stop asking".
func TestQuietUnsupportedByOwner(t *testing.T) {
	ctx := context.Background()
	dbPath := filepath.Join(shortDir(t), "joblot.db")
	o := serveBackend(t, dbPath, plainBackend{openStore(t, dbPath, backend.Limits{})})
	c := o.dial(t)
	if err := c.RequestQuiet(ctx, "w1"); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("RequestQuiet to an owner without Quieter: %v, want ErrUnsupported", err)
	}
	if _, err := c.QuietRequested(ctx, "w1"); !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("QuietRequested to an owner without Quieter: %v, want ErrUnsupported", err)
	}
}
