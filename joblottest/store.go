package joblottest

import (
	"path/filepath"
	"testing"

	"github.com/joblot/joblot/backend/bolt"
)

// NewStore opens an embedded store in a temporary directory of t, closed
// when t ends. It skips fsync (a test does not survive a machine crash
// anyway) and serves no local endpoint, so that nothing outside the test
// can reach it. Open one with bolt.Open for other settings (a fake clock
// as bolt.Options.Now), or with redis.Open to test against Redis.
func NewStore(t testing.TB) *bolt.Backend {
	t.Helper()
	store, err := bolt.Open(filepath.Join(t.TempDir(), "joblot.db"), bolt.Options{NoSync: true, NoLocalEndpoint: true})
	if err != nil {
		t.Fatalf("joblottest: open a temporary store: %v", err)
	}
	t.Cleanup(func() {
		if err := store.Close(); err != nil {
			t.Errorf("joblottest: close the temporary store: %v", err)
		}
	})
	return store
}
