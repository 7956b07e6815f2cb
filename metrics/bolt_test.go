package metrics

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/bolt"
)

func TestBoltStore(t *testing.T) {
	runStoreTests(t, func(t *testing.T) backend.Backend {
		b, err := bolt.Open(filepath.Join(t.TempDir(), "joblot.db"), bolt.Options{NoSync: true, Logger: quietLogger()})
		if err != nil {
			t.Fatalf("bolt.Open: %v", err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	})
}

// reportingBackend adds a Memory whose numbers the test sets to a real
// backend (neither backend reported memory when this was written).
type reportingBackend struct {
	backend.Backend
	info backend.MemoryInfo
	err  error
}

func (r *reportingBackend) Memory(context.Context) (backend.MemoryInfo, error) { return r.info, r.err }

func TestMemoryGauges(t *testing.T) {
	raw, err := bolt.Open(filepath.Join(t.TempDir(), "joblot.db"), bolt.Options{NoSync: true, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	b := &reportingBackend{Backend: raw, info: backend.MemoryInfo{Used: 3 << 20, Limit: 8 << 20}}
	c, reg := newTestCollector(b, Options{})
	ctx := context.Background()

	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := find(t, reg, "joblot_store_memory_used_bytes").value; got != 3<<20 {
		t.Errorf("used = %v, want %d", got, 3<<20)
	}
	if got := find(t, reg, "joblot_store_memory_limit_bytes").value; got != 8<<20 {
		t.Errorf("limit = %v, want %d", got, 8<<20)
	}

	// A failed read keeps the last values and is counted.
	b.err = errors.New("INFO failed")
	if err := c.Refresh(ctx); !errors.Is(err, b.err) {
		t.Fatalf("Refresh = %v, want the memory error", err)
	}
	if got := find(t, reg, "joblot_store_memory_used_bytes").value; got != 3<<20 {
		t.Errorf("used after a failed read = %v, want the last value", got)
	}
	if got := find(t, reg, "joblot_metrics_refresh_errors_total").value; got != 1 {
		t.Errorf("refresh errors = %v, want 1", got)
	}

	// No limit: the limit gauge is absent rather than 0.
	b.err, b.info = nil, backend.MemoryInfo{Used: 1 << 20}
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if s, ok := lookup(t, reg, "joblot_store_memory_limit_bytes"); ok {
		t.Errorf("limit gauge present (%v) for a store without a limit", s.value)
	}
	if got := find(t, reg, "joblot_store_memory_used_bytes").value; got != 1<<20 {
		t.Errorf("used = %v, want %d", got, 1<<20)
	}
}
