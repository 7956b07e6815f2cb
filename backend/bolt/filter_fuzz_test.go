package bolt_test

import (
	"path/filepath"
	"testing"

	"github.com/joblot/joblot/backend/backendtest"
	"github.com/joblot/joblot/backend/bolt"
)

// FuzzJobFilter runs the job-filter model check on a fresh file.
func FuzzJobFilter(f *testing.F) {
	b, err := bolt.Open(filepath.Join(f.TempDir(), "joblot.db"), bolt.Options{NoSync: true})
	if err != nil {
		f.Fatalf("bolt.Open: %v", err)
	}
	f.Cleanup(func() { _ = b.Close() })
	backendtest.FuzzJobFilter(f, b)
}
