package remote_test

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/bolt"
	"github.com/joblot/joblot/backend/remote"
)

// ownerEnv tells the test binary to run as an owner process (see
// TestOwnerProcess) serving the store at its value.
const ownerEnv = "JOBLOT_REMOTE_TEST_OWNER_DB"

// TestOwnerProcess is the owner side of TestCrossProcess: it opens the
// store, serves it and says "ready" until killed. It does nothing in a
// normal test run.
func TestOwnerProcess(t *testing.T) {
	dbPath := os.Getenv(ownerEnv)
	if dbPath == "" {
		return
	}
	b, err := bolt.Open(dbPath, bolt.Options{NoSync: true, NoLocalEndpoint: true})
	if err != nil {
		t.Fatalf("owner: %v", err)
	}
	defer b.Close()
	l, err := remote.Listen(dbPath)
	if err != nil {
		t.Fatalf("owner: %v", err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	os.Stdout.WriteString("ready\n")
	if err := remote.Serve(ctx, l, b); err != nil {
		t.Fatalf("owner: %v", err)
	}
}

// startOwner runs the test binary as an owner process for dbPath and waits
// until it serves. The process is killed at cleanup.
func startOwner(t *testing.T, dbPath string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestOwnerProcess$")
	cmd.Env = append(os.Environ(), ownerEnv+"="+dbPath)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("owner process did not start: %q, %v", line, err)
	}
	return cmd
}

// The embedded store's life with several processes: one owns the file and
// serves it; another works through the socket and cannot take the file or
// the socket; when the owner is SIGKILLed, its socket is stale, the file
// opens again, and a new owner replaces the socket and finds every job.
func TestCrossProcess(t *testing.T) {
	ctx := context.Background()
	dbPath := filepath.Join(shortDir(t), "joblot.db")
	owner := startOwner(t, dbPath)

	c, err := remote.Dial(ctx, dbPath)
	if err != nil {
		t.Fatalf("Dial the owner process: %v", err)
	}
	defer c.Close()
	if c.OwnerPID() != owner.Process.Pid {
		t.Fatalf("OwnerPID = %d, want %d", c.OwnerPID(), owner.Process.Pid)
	}
	jobs := []*backend.Job{
		{ID: backend.NewJobID(), Kind: "k", Queue: "q", Args: []byte(`{"n":1}`), CreatedAt: time.Now()},
		{ID: backend.NewJobID(), Kind: "k", Queue: "q", Args: []byte(`{"n":2}`), CreatedAt: time.Now()},
	}
	if _, err := c.Enqueue(ctx, jobs); err != nil {
		t.Fatalf("Enqueue through the owner: %v", err)
	}
	if _, err := bolt.Open(dbPath, bolt.Options{LockTimeout: 50 * time.Millisecond}); !errors.Is(err, backend.ErrLocked) {
		t.Fatalf("opening an owned file = %v, want ErrLocked", err)
	}
	if l, err := remote.Listen(dbPath); !errors.Is(err, backend.ErrLocked) {
		if l != nil {
			_ = l.Close()
		}
		t.Fatalf("Listen next to a live owner process = %v, want ErrLocked", err)
	}

	if err := owner.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = owner.Wait()
	if _, err := c.Stats(ctx, time.Now()); !errors.Is(err, remote.ErrNoOwner) {
		t.Fatalf("Stats after the owner was killed = %v, want ErrNoOwner", err)
	}
	if _, err := remote.Dial(ctx, dbPath); !errors.Is(err, remote.ErrNoOwner) {
		t.Fatalf("Dial after the owner was killed = %v, want ErrNoOwner", err)
	}
	if fi, err := os.Lstat(remote.SocketPath(dbPath)); err != nil || fi.Mode().Type() != os.ModeSocket {
		t.Fatalf("the killed owner's socket is not left behind (%v, %v): the stale case is not exercised", fi, err)
	}

	b := openStore(t, dbPath, backend.Limits{})
	c2 := serveBackend(t, dbPath, b).dial(t)
	st, err := c2.Stats(ctx, time.Now())
	if err != nil {
		t.Fatalf("Stats from the new owner: %v", err)
	}
	var size int64
	for _, q := range st.Queues {
		if q.Name == "q" {
			size = q.Size
		}
	}
	if size != int64(len(jobs)) {
		t.Fatalf("queue q holds %d jobs after the owner was killed, want %d", size, len(jobs))
	}
}
