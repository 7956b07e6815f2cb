package remote

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/trust"
)

// SocketPath returns the path of the unix socket that serves the store at
// dbPath: dbPath + ".sock".
func SocketPath(dbPath string) string { return dbPath + ".sock" }

// maxSocketPath is the longest socket path the kernel accepts (sun_path
// holds 108 bytes on Linux, 104 on the BSDs, including the final NUL).
const maxSocketPath = 103

// staleProbeTimeout bounds the connection attempt that tells a live owner
// from a socket left behind by a crashed one.
const staleProbeTimeout = time.Second

// privateDirPattern names the directory, next to the store, in which the
// socket is created before it is linked into place. It is short because the
// socket's path within it must fit maxSocketPath too.
const privateDirPattern = ".j"

// Listen creates the unix socket for the store at dbPath (SocketPath), with
// mode 0600. The socket is bound in a fresh private directory (mode 0700)
// next to the store and linked into place only once restricted, so no other
// user can ever connect to it. A socket left behind by an owner that
// crashed (nobody accepts on it) is removed and replaced; if a live owner
// answers, Listen refuses with an error wrapping backend.ErrLocked. Listen
// never removes a path that is not a socket.
//
// The listener accepts connections only from processes of the owner's user
// and of root; others are closed unanswered.
//
// Call Listen while holding the store's lock (after opening the store): the
// lock makes this process the only one that can judge the socket stale, so
// removing it races with nobody. Closing the listener removes the socket.
func Listen(dbPath string) (net.Listener, error) { return listen(dbPath, nil) }

// listen is Listen; step, when not nil, is called with the socket's path
// after each step of its creation (tests check what is observable there).
func listen(dbPath string, step func(path string)) (net.Listener, error) {
	path := SocketPath(dbPath)
	if len(path) > maxSocketPath {
		return nil, fmt.Errorf("joblot: socket path %s is %d bytes, longer than the %d a unix socket allows: use a shorter store path", path, len(path), maxSocketPath)
	}
	if err := clearStale(dbPath, path); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(filepath.Dir(path), privateDirPattern)
	if err != nil {
		return nil, fmt.Errorf("joblot: create a private directory for socket %s: %w", path, err)
	}
	defer os.RemoveAll(dir) // the socket lives on under its final name
	private := filepath.Join(dir, "s")
	if len(private) > maxSocketPath {
		return nil, fmt.Errorf("joblot: socket path %s is %d bytes, longer than the %d a unix socket allows: use a shorter store path", private, len(private), maxSocketPath)
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: private, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("joblot: listen on %s: %w", path, err)
	}
	l.SetUnlinkOnClose(false) // its name changes; socketListener.Close removes it
	if step != nil {
		step(path)
	}
	if err := os.Chmod(private, 0o600); err != nil {
		_ = l.Close()
		return nil, fmt.Errorf("joblot: restrict socket %s to its owner: %w", path, err)
	}
	if step != nil {
		step(path)
	}
	if err := publish(private, path); err != nil {
		_ = l.Close()
		return nil, err
	}
	fi, err := os.Lstat(path)
	if err != nil {
		_ = l.Close()
		return nil, fmt.Errorf("joblot: socket %s: %w", path, err)
	}
	if step != nil {
		step(path)
	}
	return &socketListener{UnixListener: l, path: path, fi: fi, peers: trust.ForUIDs(os.Geteuid(), 0)}, nil
}

// clearStale makes way for the socket at path: nothing there, or a socket
// nobody answers on (the owner crashed), which is removed. A live socket or
// anything that is not a socket is refused.
func clearStale(dbPath, path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("joblot: socket %s: %w", path, err)
	}
	if fi.Mode().Type() != os.ModeSocket {
		return fmt.Errorf("joblot: %s exists and is not a socket; move it away to serve the store", path)
	}
	if conn, derr := net.DialTimeout("unix", path, staleProbeTimeout); derr == nil {
		_ = conn.Close()
		return fmt.Errorf("joblot: another process serves %s on %s: %w", dbPath, path, backend.ErrLocked)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("joblot: remove stale socket %s: %w", path, err)
	}
	return nil
}

// publish gives the restricted socket at private its final name. A hard
// link never replaces what may have appeared at path meanwhile; where the
// file system has no hard links, rename (atomic too) is the fallback.
func publish(private, path string) error {
	err := os.Link(private, path)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("joblot: %s appeared while the socket was being created; is another process starting on the same store?", path)
	}
	if err != nil {
		if rerr := os.Rename(private, path); rerr != nil {
			return fmt.Errorf("joblot: put socket %s in place: %w (link: %v)", path, rerr, err)
		}
	}
	return nil
}

// socketListener is the owner's listener: it refuses peers of untrusted
// users and removes its socket when closed, unless something else has
// taken its name since.
type socketListener struct {
	*net.UnixListener
	path  string
	fi    fs.FileInfo // the socket as published, to recognise it at Close
	peers trust.Policy
	once  sync.Once
}

// Accept returns the next connection from a trusted user's process.
func (l *socketListener) Accept() (net.Conn, error) {
	for {
		c, err := l.UnixListener.AcceptUnix()
		if err != nil {
			return nil, err
		}
		if l.peers.CheckPeer(c, l.path) == nil {
			return c, nil
		}
		_ = c.Close()
	}
}

// Close stops listening and removes the socket.
func (l *socketListener) Close() error {
	err := l.UnixListener.Close()
	l.once.Do(func() {
		if fi, serr := os.Lstat(l.path); serr == nil && os.SameFile(fi, l.fi) {
			_ = os.Remove(l.path)
		}
	})
	return err
}
