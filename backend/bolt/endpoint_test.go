package bolt_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/bolt"
	"github.com/joblot/joblot/backend/remote"
)

func TestOwnerServesTheLocalEndpointByDefault(t *testing.T) {
	dir, err := os.MkdirTemp("", "jl") // short: unix socket paths are limited to ~104 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "joblot.db")
	ctx := context.Background()

	b, err := bolt.Open(path, bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	job := &backend.Job{ID: backend.NewJobID(), Kind: "k", Queue: "default", CreatedAt: time.Now()}
	if _, err := b.Enqueue(ctx, []*backend.Job{job}); err != nil {
		t.Fatal(err)
	}

	var _ backend.MemoryReporter = b
	if mi, err := b.Memory(ctx); err != nil || mi.Used <= 0 || mi.Limit != 0 {
		t.Fatalf("Memory = %+v, %v; want the file size and no limit", mi, err)
	}

	c, err := remote.Dial(ctx, path)
	if err != nil {
		t.Fatalf("Dial while the owner runs: %v", err)
	}
	st, err := c.Stats(ctx, time.Now())
	if err != nil || len(st.Queues) != 1 || st.Queues[0].Size != 1 {
		t.Fatalf("stats through the endpoint: %+v, %v", st, err)
	}
	c.Close()

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := remote.Dial(ctx, path); !errors.Is(err, remote.ErrNoOwner) {
		t.Fatalf("Dial after the owner closed: %v, want ErrNoOwner", err)
	}
}
