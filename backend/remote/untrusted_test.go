//go:build unix

package remote

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/trust"
)

// otherUID stands for another local user.
func otherUID() int {
	if os.Geteuid() == 65534 {
		return 65535
	}
	return 65534
}

// tmpDir returns a fresh directory with a short path (unix socket paths are
// limited to ~104 bytes).
func tmpDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "jlu")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	return dir
}

// statsOnly is a backend that answers Stats and counts the calls that
// reached it; every other method panics (nil embedded interface).
type statsOnly struct {
	backend.Backend
	calls chan struct{}
}

func (s statsOnly) Stats(context.Context, time.Time) (*backend.Stats, error) {
	s.calls <- struct{}{}
	return &backend.Stats{Processed: 7}, nil
}

// serveFake serves a statsOnly on l until the test ends.
func serveFake(t *testing.T, l net.Listener) statsOnly {
	t.Helper()
	b := statsOnly{calls: make(chan struct{}, 100)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, l, b) }()
	t.Cleanup(func() { cancel(); <-done })
	return b
}

// The socket is created where no other user can reach it and appears under
// its name only once restricted: at no step of Listen is <db>.sock there
// with looser permissions than 0600, even under a permissive umask.
func TestListenNeverExposesLooseSocket(t *testing.T) {
	old := syscall.Umask(0) // the worst case: bind creates the socket 0777
	defer syscall.Umask(old)
	dir := tmpDir(t)
	dbPath := filepath.Join(dir, "joblot.db")
	steps := 0
	l, err := listen(dbPath, func(path string) {
		steps++
		fi, err := os.Lstat(path)
		if errors.Is(err, os.ErrNotExist) {
			return
		}
		if err != nil {
			t.Errorf("step %d: %v", steps, err)
			return
		}
		if fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o600 {
			t.Errorf("step %d: %s observable with mode %v, want a socket with 0600", steps, path, fi.Mode())
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if steps < 3 {
		t.Fatalf("Listen reported %d steps, want at least 3", steps)
	}
	fi, err := os.Lstat(SocketPath(dbPath))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket after Listen: %v, %v; want 0600", fi, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "joblot.db.sock" {
			t.Errorf("Listen left %s behind", e.Name())
		}
	}
}

// A socket planted by another user (simulated: the test trusts only
// another uid, so its own listener is the foreigner) receives nothing, not
// even the request, and the refusal is not ErrNoOwner, so the caller does
// not take the store over either.
func TestDialRefusesForeignPeer(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("peer credentials are read on Linux only")
	}
	dbPath := filepath.Join(tmpDir(t), "joblot.db")
	planted, err := net.Listen("unix", SocketPath(dbPath))
	if err != nil {
		t.Fatal(err)
	}
	defer planted.Close()
	received := make(chan int, 1)
	go func() {
		c, err := planted.Accept()
		if err != nil {
			received <- -1
			return
		}
		defer c.Close()
		// The first read returns what was sent, or EOF once the client
		// closes having sent nothing; either way the planted side then
		// hangs up, so a client that did send gets no answer either.
		n, _ := c.Read(make([]byte, 4096))
		received <- n
	}()

	_, err = dial(context.Background(), dbPath, trust.ForUIDs(otherUID()))
	if !errors.Is(err, backend.ErrForeignOwner) || errors.Is(err, ErrNoOwner) {
		t.Fatalf("Dial to a foreign process = %v, want ErrForeignOwner and not ErrNoOwner", err)
	}
	if !strings.Contains(err.Error(), "other end") {
		t.Fatalf("Dial error %q does not say the peer process is the problem", err)
	}
	if n := <-received; n != 0 {
		t.Fatalf("the planted socket received %d bytes, want none", n)
	}
}

// The socket file itself is checked too: a symbolic link, a socket other
// users may write, or one another user owns.
func TestDialChecksTheSocketFile(t *testing.T) {
	ctx := context.Background()
	dbPath := filepath.Join(tmpDir(t), "joblot.db")
	l, err := Listen(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	serveFake(t, l)
	sock := SocketPath(dbPath)
	if c, err := Dial(ctx, dbPath); err != nil {
		t.Fatalf("Dial to our own owner: %v", err)
	} else {
		c.Close()
	}

	link := filepath.Join(filepath.Dir(dbPath), "link.db")
	if err := os.Symlink(sock, SocketPath(link)); err != nil {
		t.Fatal(err)
	}
	if _, err := Dial(ctx, link); !errors.Is(err, backend.ErrSymlink) {
		t.Fatalf("Dial through a symlinked socket = %v, want ErrSymlink", err)
	}

	if err := os.Chmod(sock, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := Dial(ctx, dbPath); !errors.Is(err, backend.ErrWritableByOthers) {
		t.Fatalf("Dial to a world-writable socket = %v, want ErrWritableByOthers", err)
	}
	if err := os.Chmod(sock, 0o600); err != nil {
		t.Fatal(err)
	}

	if err := os.Lchown(sock, otherUID(), otherUID()); err != nil {
		t.Skipf("cannot give the socket to another user (not root?): %v", err)
	}
	if _, err := Dial(ctx, dbPath); !errors.Is(err, backend.ErrForeignOwner) {
		t.Fatalf("Dial to a socket owned by another user = %v, want ErrForeignOwner", err)
	}
}

// The owner closes, unanswered, a connection from a user it does not trust
// (simulated by making it trust another uid only); the backend is never
// called.
func TestListenerRefusesForeignPeer(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("peer credentials are read on Linux only")
	}
	dbPath := filepath.Join(tmpDir(t), "joblot.db")
	l, err := Listen(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	l.(*socketListener).peers = trust.ForUIDs(otherUID())
	b := serveFake(t, l)
	if c, err := Dial(context.Background(), dbPath); err == nil {
		c.Close()
		t.Fatal("Dial succeeded though the owner trusts another uid only")
	}
	conn, err := net.Dial("unix", SocketPath(dbPath))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, _ = conn.Write([]byte("POST /v1/Stats HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"))
	if n, _ := io.Copy(io.Discard, conn); n != 0 {
		t.Fatalf("an untrusted peer got %d bytes of answer, want the connection closed unanswered", n)
	}
	select {
	case <-b.calls:
		t.Fatal("the backend was called for an untrusted peer")
	default:
	}
}
