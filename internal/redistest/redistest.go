// Package redistest starts a real, private redis-server for tests: on a free
// loopback port, in a temporary directory, with persistence off, killed when
// the test ends. Tests never talk to a mock or an in-memory fake of Redis.
package redistest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Server is a running redis-server owned by one test.
type Server struct {
	// Addr is host:port.
	Addr string
	// URL is redis://host:port.
	URL string
	cmd *exec.Cmd
	dir string
	// exited is closed once cmd has exited (and been waited for).
	exited chan struct{}
	// last is the command Kill stopped, for Restart.
	last *exec.Cmd
}

// newServer starts cmd, a redis-server meant to listen on addr, and watches
// it exit.
func newServer(cmd *exec.Cmd, addr, dir string) (*Server, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{Addr: addr, URL: "redis://" + addr, cmd: cmd, dir: dir, exited: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		close(s.exited)
	}()
	return s, nil
}

// Options tune the server.
type Options struct {
	// MaxMemory sets maxmemory (e.g. "10mb"); empty means unlimited.
	MaxMemory string
	// MaxMemoryPolicy sets maxmemory-policy (default noeviction).
	MaxMemoryPolicy string
	// Args are extra redis-server arguments, e.g. "--appendonly", "yes".
	Args []string
}

// Binary returns the path of redis-server, or "" if it is not installed.
func Binary() string {
	p, err := exec.LookPath("redis-server")
	if err != nil {
		return ""
	}
	return p
}

// Start starts a server and registers its shutdown with t.Cleanup. It fails
// the test (not skips) when redis-server is missing: CI installs it, and a
// suite that silently skips cannot fail.
func Start(t testing.TB, opts ...Options) *Server {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	s, err := StartServer(t.TempDir(), o)
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// readyTimeout bounds the wait for a started process to answer, and
// clusterTimeout the wait for a cluster or sentinel to settle: generous, so
// that a busy machine makes a test slower, never red (a port taken between
// freePort and bind makes the process exit, and costs one readyTimeout).
const (
	readyTimeout   = 30 * time.Second
	clusterTimeout = time.Minute
)

// StartServer starts a server in dir; the caller must call Stop. It is for
// programs (benchmarks, the demo) that are not tests.
func StartServer(dir string, o Options) (*Server, error) {
	bin := Binary()
	if bin == "" {
		return nil, fmt.Errorf("redis-server not found in PATH (install it: apt-get install -y redis-server)")
	}
	if o.MaxMemoryPolicy == "" {
		o.MaxMemoryPolicy = "noeviction"
	}
	var lastErr error
	for try := 0; try < 5; try++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		args := []string{
			"--port", strconv.Itoa(port),
			"--bind", "127.0.0.1",
			"--dir", dir,
			"--save", "",
			"--appendonly", "no",
			"--daemonize", "no",
			"--maxmemory-policy", o.MaxMemoryPolicy,
			"--logfile", filepath.Join(dir, "redis.log"),
		}
		if o.MaxMemory != "" {
			args = append(args, "--maxmemory", o.MaxMemory)
		}
		args = append(args, o.Args...)
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		s, err := newServer(exec.Command(bin, args...), addr, dir)
		if err != nil {
			return nil, fmt.Errorf("start redis-server: %w", err)
		}
		if lastErr = s.waitReady(readyTimeout); lastErr == nil {
			return s, nil
		}
		s.Stop() // most likely the port was taken between freePort and bind: try another
	}
	return nil, fmt.Errorf("redis-server did not become ready: %w", lastErr)
}

// Stop kills the server and waits for it.
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// Do sends one command over a fresh connection and returns the reply as
// text: a small, dependency-free client for test setup and assertions
// (CONFIG SET, INFO, DEBUG ...). Arrays are joined with newlines.
func (s *Server) Do(args ...string) (string, error) {
	conn, err := net.DialTimeout("tcp", s.Addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := conn.Write([]byte(b.String())); err != nil {
		return "", err
	}
	return readReply(bufio.NewReader(conn))
}

// Info returns one field of INFO (e.g. "used_memory") as text.
func (s *Server) Info(field string) (string, error) {
	out, err := s.Do("INFO")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && k == field {
			return v, nil
		}
	}
	return "", fmt.Errorf("INFO has no field %q", field)
}

// waitReady waits until the server answers as itself, with its dataset
// loaded: the process_id in INFO server must be ours, because another
// test's server may have bound the port between freePort and our bind
// (ours then exits, and a PING would be answered by the other one).
func (s *Server) waitReady(d time.Duration) error {
	deadline := time.Now().Add(d)
	want := strconv.Itoa(s.Pid())
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("redis-server on %s exited (port taken?); see %s", s.Addr, filepath.Join(s.dir, "redis.log"))
		default:
		}
		pid, err := s.Info("process_id")
		if err == nil && pid == want {
			// INFO is answered while the dataset (an AOF after a restart)
			// still loads, and every other command fails with LOADING.
			// A sentinel has no dataset and no loading field.
			var out string
			if out, err = s.Do("INFO"); err == nil {
				if !strings.Contains(out, "\nloading:") || strings.Contains(out, "\nloading:0") {
					return nil
				}
				err = fmt.Errorf("%s is still loading its dataset", s.Addr)
			}
		} else if err == nil {
			err = fmt.Errorf("%s is served by process %s, not ours (%s)", s.Addr, pid, want)
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func readReply(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", fmt.Errorf("empty reply")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", fmt.Errorf("redis: %s", line[1:])
	case '$':
		n, _ := strconv.Atoi(line[1:])
		if n < 0 {
			return "", nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	case '*':
		n, _ := strconv.Atoi(line[1:])
		parts := make([]string, 0, max(n, 0))
		for i := 0; i < n; i++ {
			p, err := readReply(r)
			if err != nil {
				return "", err
			}
			parts = append(parts, p)
		}
		return strings.Join(parts, "\n"), nil
	}
	return "", fmt.Errorf("unexpected reply %q", line)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Dir is the server's working directory.
func (s *Server) Dir() string { return s.dir }

// Pid is the server's process id.
func (s *Server) Pid() int {
	if s.cmd == nil || s.cmd.Process == nil {
		return 0
	}
	return s.cmd.Process.Pid
}
