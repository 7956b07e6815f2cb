package bolt_test

import (
	"path/filepath"
	"testing"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/backendtest"
	"github.com/joblot/joblot/backend/bolt"
)

// TestConformance runs the backend conformance suite, each subtest on its
// own fresh file.
func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, opts backendtest.Options) backend.Backend {
		b, err := bolt.Open(filepath.Join(t.TempDir(), "joblot.db"), bolt.Options{Limits: opts.Limits, NoSync: true, Now: opts.Now})
		if err != nil {
			t.Fatalf("bolt.Open: %v", err)
		}
		t.Cleanup(func() { _ = b.Close() })
		return b
	})
}
