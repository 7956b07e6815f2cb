package metrics

import (
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
