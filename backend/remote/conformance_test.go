package remote_test

import (
	"path/filepath"
	"testing"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/backendtest"
	"github.com/joblot/joblot/backend/bolt"
)

// TestConformance runs the backend conformance suite through the socket:
// every call of every test goes client → HTTP over the unix socket → an
// embedded store served by Serve.
func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, opts backendtest.Options) backend.Backend {
		if opts.Now == nil {
			return serve(t, opts.Limits).dial(t)
		}
		dbPath := filepath.Join(shortDir(t), "joblot.db")
		b, err := bolt.Open(dbPath, bolt.Options{Limits: opts.Limits, NoSync: true, NoLocalEndpoint: true, Now: opts.Now})
		if err != nil {
			t.Fatalf("bolt.Open: %v", err)
		}
		t.Cleanup(func() { _ = b.Close() })
		return serveBackend(t, dbPath, b).dial(t)
	})
}
