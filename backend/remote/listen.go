package remote

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/joblot/joblot/backend"
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

// Listen creates the unix socket for the store at dbPath (SocketPath), with
// mode 0600. A socket left behind by an owner that crashed (nobody accepts
// on it) is removed and replaced; if a live owner answers, Listen refuses
// with an error wrapping backend.ErrLocked. Listen never removes a path
// that is not a socket.
//
// Call Listen while holding the store's lock (after opening the store): the
// lock makes this process the only one that can judge the socket stale, so
// removing it races with nobody. Closing the listener removes the socket.
func Listen(dbPath string) (net.Listener, error) {
	path := SocketPath(dbPath)
	if len(path) > maxSocketPath {
		return nil, fmt.Errorf("joblot: socket path %s is %d bytes, longer than the %d a unix socket allows: use a shorter store path", path, len(path), maxSocketPath)
	}
	l, err := listenUnix(path)
	if err == nil || !errors.Is(err, syscall.EADDRINUSE) {
		return l, err
	}
	fi, serr := os.Lstat(path)
	if serr != nil {
		return nil, fmt.Errorf("joblot: listen on %s: %w", path, err)
	}
	if fi.Mode().Type() != os.ModeSocket {
		return nil, fmt.Errorf("joblot: %s exists and is not a socket; move it away to serve the store", path)
	}
	if conn, derr := net.DialTimeout("unix", path, staleProbeTimeout); derr == nil {
		_ = conn.Close()
		return nil, fmt.Errorf("joblot: another process serves %s on %s: %w", dbPath, path, backend.ErrLocked)
	}
	// Nobody answers: the owner crashed without removing its socket.
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("joblot: remove stale socket %s: %w", path, err)
	}
	return listenUnix(path)
}

// listenUnix listens on path and restricts the socket to its owner. Another
// user could in principle connect in the instant between bind and chmod;
// where that matters, keep the store in a directory only its user can enter.
func listenUnix(path string) (net.Listener, error) {
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("joblot: listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		_ = l.Close()
		return nil, fmt.Errorf("joblot: restrict socket %s to its owner: %w", path, err)
	}
	return l, nil
}
