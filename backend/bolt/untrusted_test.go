//go:build unix

package bolt_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/bolt"
)

// anotherUID stands for another local user.
func anotherUID() int {
	if os.Geteuid() == 65534 {
		return 65535
	}
	return 65534
}

// makeStore creates a valid store file at path and closes it.
func makeStore(t *testing.T, path string) {
	t.Helper()
	b, err := bolt.Open(path, bolt.Options{NoSync: true, NoLocalEndpoint: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}

// A symbolic link planted in place of the store is refused, dangling or
// not, and neither its target nor a new file behind it is touched.
func TestOpenRefusesSymlink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim.db")
	makeStore(t, victim)
	before, err := os.ReadFile(victim)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "joblot.db")
	if err := os.Symlink(victim, path); err != nil {
		t.Fatal(err)
	}
	if b, err := bolt.Open(path, bolt.Options{NoSync: true, NoLocalEndpoint: true}); !errors.Is(err, backend.ErrSymlink) {
		if b != nil {
			b.Close()
		}
		t.Fatalf("Open(symlink to a store) = %v, want ErrSymlink", err)
	}
	if after, err := os.ReadFile(victim); err != nil || string(after) != string(before) {
		t.Fatalf("the link's target changed: %v", err)
	}

	dangling := filepath.Join(dir, "other.db")
	target := filepath.Join(dir, "made-through-the-link.db")
	if err := os.Symlink(target, dangling); err != nil {
		t.Fatal(err)
	}
	if b, err := bolt.Open(dangling, bolt.Options{NoSync: true, NoLocalEndpoint: true}); !errors.Is(err, backend.ErrSymlink) {
		if b != nil {
			b.Close()
		}
		t.Fatalf("Open(dangling symlink) = %v, want ErrSymlink", err)
	}
	if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open created the dangling link's target: %v", err)
	}
}

// A store its group or other users may write is refused; read access for
// others is the operator's choice.
func TestOpenRefusesWritableByOthers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "joblot.db")
	makeStore(t, path)
	for _, mode := range []os.FileMode{0o620, 0o602, 0o666} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		if b, err := bolt.Open(path, bolt.Options{NoSync: true, NoLocalEndpoint: true}); !errors.Is(err, backend.ErrWritableByOthers) {
			if b != nil {
				b.Close()
			}
			t.Fatalf("Open(store with mode %v) = %v, want ErrWritableByOthers", mode, err)
		}
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	b, err := bolt.Open(path, bolt.Options{NoSync: true, NoLocalEndpoint: true})
	if err != nil {
		t.Fatalf("Open(store with mode 0644) = %v", err)
	}
	b.Close()
}

// A new store is created private to its owner.
func TestOpenCreatesPrivateFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "joblot.db")
	makeStore(t, path)
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		t.Fatalf("new store has mode %v, want no access for group and others", fi.Mode().Perm())
	}
}

// A store owned by another user is refused (a worker running as root would
// otherwise run jobs that user writes), unless the operator allows that
// user explicitly. Giving a file away needs root; tests run as root in CI.
func TestOpenRefusesAnotherUsersStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "joblot.db")
	makeStore(t, path)
	other := anotherUID()
	if err := os.Chown(path, other, other); err != nil {
		t.Skipf("cannot give the store to another user (not root?): %v", err)
	}
	if b, err := bolt.Open(path, bolt.Options{NoSync: true, NoLocalEndpoint: true}); !errors.Is(err, backend.ErrForeignOwner) {
		if b != nil {
			b.Close()
		}
		t.Fatalf("Open(another user's store) = %v, want ErrForeignOwner", err)
	}
	b, err := bolt.Open(path, bolt.Options{NoSync: true, NoLocalEndpoint: true, AllowOwner: strconv.Itoa(other)})
	if err != nil {
		t.Fatalf("Open(another user's store, that user allowed) = %v", err)
	}
	b.Close()
}

func TestOpenUnknownAllowOwner(t *testing.T) {
	path := filepath.Join(t.TempDir(), "joblot.db")
	if b, err := bolt.Open(path, bolt.Options{NoSync: true, NoLocalEndpoint: true, AllowOwner: "no-such-user-joblot"}); err == nil {
		b.Close()
		t.Fatal("Open with an unknown AllowOwner succeeded")
	}
}
