package remote_test

import (
	"testing"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/backendtest"
)

// TestConformance runs the backend conformance suite through the socket:
// every call of every test goes client → HTTP over the unix socket → an
// embedded store served by Serve.
func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T, opts backendtest.Options) backend.Backend {
		return serve(t, opts.Limits).dial(t)
	})
}
