package remote_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/remote"
)

func TestSocketPath(t *testing.T) {
	if got := remote.SocketPath("/var/lib/app/joblot.db"); got != "/var/lib/app/joblot.db.sock" {
		t.Fatalf("SocketPath = %q", got)
	}
}

func TestListenSocketIsPrivate(t *testing.T) {
	dbPath := filepath.Join(shortDir(t), "joblot.db")
	l, err := remote.Listen(dbPath)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	fi, err := os.Lstat(remote.SocketPath(dbPath))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket mode = %v, want a socket with 0600", fi.Mode())
	}
	_ = l.Close()
	if _, err := os.Lstat(remote.SocketPath(dbPath)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket still there after the listener closed: %v", err)
	}
}

// A socket left behind by an owner that crashed is replaced, and the new
// owner serves on it.
func TestListenReplacesStaleSocket(t *testing.T) {
	dbPath := filepath.Join(shortDir(t), "joblot.db")
	leaveStaleSocket(t, remote.SocketPath(dbPath))

	if _, err := remote.Dial(context.Background(), dbPath); !errors.Is(err, remote.ErrNoOwner) {
		t.Fatalf("Dial on a stale socket = %v, want ErrNoOwner", err)
	}
	o := serveBackend(t, dbPath, openStore(t, dbPath, backend.Limits{}))
	c := o.dial(t)
	if _, err := c.Stats(context.Background(), timeNow()); err != nil {
		t.Fatalf("Stats through the replaced socket: %v", err)
	}
}

// leaveStaleSocket creates a socket file at path that nobody listens on, as
// a SIGKILLed owner leaves it.
func leaveStaleSocket(t *testing.T, path string) {
	t.Helper()
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	_ = l.Close()
	if fi, err := os.Lstat(path); err != nil || fi.Mode().Type() != os.ModeSocket {
		t.Fatalf("stale socket not left behind: %v %v", fi, err)
	}
}

// A second owner for the same store is refused while the first answers,
// and the first keeps serving.
func TestListenRefusesWhileOwnerIsAlive(t *testing.T) {
	o := serve(t, backend.Limits{})
	c := o.dial(t)

	l, err := remote.Listen(o.dbPath)
	if err == nil {
		_ = l.Close()
		t.Fatal("second Listen succeeded while an owner serves the store")
	}
	if !errors.Is(err, backend.ErrLocked) || !strings.Contains(err.Error(), "another process serves") {
		t.Fatalf("second Listen = %v, want a clear error wrapping ErrLocked", err)
	}
	if _, err := c.Stats(context.Background(), timeNow()); err != nil {
		t.Fatalf("first owner stopped answering after a refused Listen: %v", err)
	}
}

// Listen never removes something that is not a socket.
func TestListenKeepsNonSocket(t *testing.T) {
	dbPath := filepath.Join(shortDir(t), "joblot.db")
	path := remote.SocketPath(dbPath)
	if err := os.WriteFile(path, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	if l, err := remote.Listen(dbPath); err == nil {
		_ = l.Close()
		t.Fatal("Listen succeeded over a regular file")
	} else if !strings.Contains(err.Error(), "not a socket") {
		t.Fatalf("Listen over a regular file = %v, want a 'not a socket' error", err)
	}
	if data, err := os.ReadFile(path); err != nil || string(data) != "precious" {
		t.Fatalf("regular file changed: %q, %v", data, err)
	}
}

func TestListenPathTooLong(t *testing.T) {
	dbPath := filepath.Join(shortDir(t), strings.Repeat("x", 120)+".db")
	if l, err := remote.Listen(dbPath); err == nil {
		_ = l.Close()
		t.Fatal("Listen accepted a socket path longer than the kernel allows")
	} else if !strings.Contains(err.Error(), "shorter store path") {
		t.Fatalf("Listen with a long path = %v, want advice to shorten it", err)
	}
}
