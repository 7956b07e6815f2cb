package remote_test

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/remote"
)

func timeNow() time.Time { return time.Now() }

func TestDialWithoutOwner(t *testing.T) {
	dbPath := filepath.Join(shortDir(t), "joblot.db")
	_, err := remote.Dial(context.Background(), dbPath)
	if !errors.Is(err, remote.ErrNoOwner) {
		t.Fatalf("Dial with no socket = %v, want ErrNoOwner", err)
	}
}

// A client whose owner stops gets an error that says so, wrapping
// ErrNoOwner, not a hang or a generic failure.
func TestOwnerGone(t *testing.T) {
	o := serve(t, backend.Limits{})
	c := o.dial(t)
	ctx := context.Background()
	if _, err := c.Stats(ctx, timeNow()); err != nil {
		t.Fatalf("Stats: %v", err)
	}
	o.shutdown(t)
	_, err := c.Stats(ctx, timeNow())
	if !errors.Is(err, remote.ErrNoOwner) || !strings.Contains(err.Error(), remote.SocketPath(o.dbPath)) {
		t.Fatalf("Stats after the owner stopped = %v, want ErrNoOwner naming the socket", err)
	}
}

// Sentinel errors of the served backend survive the trip.
func TestSentinelErrorsSurvive(t *testing.T) {
	c := serve(t, backend.Limits{}).dial(t)
	ctx := context.Background()
	if _, err := c.BatchStatus(ctx, "no-such-batch"); !errors.Is(err, backend.ErrBatchNotFound) {
		t.Fatalf("BatchStatus(unknown) = %v, want ErrBatchNotFound", err)
	}
	add := &backend.BatchAdd{BatchID: "no-such-batch", Jobs: []*backend.Job{{ID: "j1", Kind: "k", Queue: "q"}}}
	if err := c.AddToBatch(ctx, add); !errors.Is(err, backend.ErrBatchNotFound) {
		t.Fatalf("AddToBatch(unknown) = %v, want ErrBatchNotFound", err)
	}
	// A process declared dead is fenced at its next heartbeat.
	info := backend.ProcessInfo{ID: "p1", Hostname: "h", PID: 1, Queues: []string{"q"}, Concurrency: 1, StartedAt: timeNow()}
	if err := c.Heartbeat(ctx, info, time.Second); err != nil {
		t.Fatalf("Heartbeat: %v", err)
	}
	if _, err := c.RecoverOrphans(ctx, timeNow().Add(time.Hour)); err != nil {
		t.Fatalf("RecoverOrphans: %v", err)
	}
	if err := c.Heartbeat(ctx, info, time.Second); !errors.Is(err, backend.ErrFenced) {
		t.Fatalf("Heartbeat after being declared dead = %v, want ErrFenced", err)
	}
}

// The client's context reaches the call: a cancelled one fails at once with
// context.Canceled.
func TestClientContext(t *testing.T) {
	c := serve(t, backend.Limits{}).dial(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Stats(ctx, timeNow()); !errors.Is(err, context.Canceled) {
		t.Fatalf("Stats with a cancelled context = %v, want context.Canceled", err)
	}
}

// blockingStats is a real backend whose Stats waits for release, so a test
// can stop the owner while a call is in progress.
type blockingStats struct {
	backend.Backend
	entered, release chan struct{}
}

func (b *blockingStats) Stats(ctx context.Context, now time.Time) (*backend.Stats, error) {
	close(b.entered)
	<-b.release
	return b.Backend.Stats(ctx, now)
}

// Stopping the owner lets a call in progress finish; Serve returns only
// after it, and later calls get ErrNoOwner.
func TestServeDrainsCallsInProgress(t *testing.T) {
	dbPath := filepath.Join(shortDir(t), "joblot.db")
	b := &blockingStats{Backend: openStore(t, dbPath, backend.Limits{}), entered: make(chan struct{}), release: make(chan struct{})}
	o := serveBackend(t, dbPath, b)
	c := o.dial(t)

	done := make(chan error, 1)
	go func() {
		_, err := c.Stats(context.Background(), timeNow())
		done <- err
	}()
	<-b.entered
	o.stop()
	select {
	case err := <-o.served:
		t.Fatalf("Serve returned (%v) while a call was in progress", err)
	default:
	}
	close(b.release)
	if err := <-done; err != nil {
		t.Fatalf("call in progress at shutdown = %v, want it to finish", err)
	}
	o.shutdown(t)
	if _, err := c.Stats(context.Background(), timeNow()); !errors.Is(err, remote.ErrNoOwner) {
		t.Fatalf("Stats after shutdown = %v, want ErrNoOwner", err)
	}
}

// panickyStats is a real backend whose Stats panics.
type panickyStats struct{ backend.Backend }

func (panickyStats) Stats(context.Context, time.Time) (*backend.Stats, error) {
	panic("stats exploded")
}

// A panic in the served backend is an error for that call; the owner keeps
// serving.
func TestBackendPanicIsAnError(t *testing.T) {
	dbPath := filepath.Join(shortDir(t), "joblot.db")
	real := openStore(t, dbPath, backend.Limits{})
	c := serveBackend(t, dbPath, panickyStats{real}).dial(t)
	ctx := context.Background()
	if _, err := c.Stats(ctx, timeNow()); err == nil || !strings.Contains(err.Error(), "stats exploded") {
		t.Fatalf("Stats = %v, want the panic as an error", err)
	}
	if _, err := c.BatchesCancelled(ctx, []string{"b1"}); err != nil {
		t.Fatalf("owner stopped serving after a panic: %v", err)
	}
}

// memoryStore is a real backend that also reports memory, as a store that
// knows its size does.
type memoryStore struct {
	backend.Backend
	info backend.MemoryInfo
}

func (m memoryStore) Memory(context.Context) (backend.MemoryInfo, error) { return m.info, nil }

// Client.Backend is a MemoryReporter exactly when the served backend is.
func TestMemoryReporterForwarded(t *testing.T) {
	dbPath := filepath.Join(shortDir(t), "joblot.db")
	real := openStore(t, dbPath, backend.Limits{})
	want := backend.MemoryInfo{Used: 12345, Limit: 1 << 30}
	c := serveBackend(t, dbPath, memoryStore{real, want}).dial(t)
	mr, ok := c.Backend().(backend.MemoryReporter)
	if !ok {
		t.Fatal("Client.Backend() is not a MemoryReporter though the served backend is")
	}
	if got, err := mr.Memory(context.Background()); err != nil || got != want {
		t.Fatalf("Memory = %+v, %v; want %+v", got, err, want)
	}

	dbPath2 := filepath.Join(shortDir(t), "joblot.db")
	plain := serveBackend(t, dbPath2, struct{ backend.Backend }{openStore(t, dbPath2, backend.Limits{})}).dial(t)
	if _, ok := plain.Backend().(backend.MemoryReporter); ok {
		t.Fatal("Client.Backend() is a MemoryReporter though the served backend is not")
	}
}

// trackingListener records accepted connections so a test can cut them as
// an owner's death (SIGKILL) would.
type trackingListener struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns = append(l.conns, c)
		l.mu.Unlock()
	}
	return c, err
}

func (l *trackingListener) cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		_ = c.Close()
	}
}

// An owner that dies during a call leaves the client with an error wrapping
// ErrNoOwner that says the call's outcome is unknown.
func TestOwnerDiesMidCall(t *testing.T) {
	dbPath := filepath.Join(shortDir(t), "joblot.db")
	b := &blockingStats{Backend: openStore(t, dbPath, backend.Limits{}), entered: make(chan struct{}), release: make(chan struct{})}
	l, err := remote.Listen(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	tl := &trackingListener{Listener: l}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- remote.Serve(ctx, tl, b) }()
	defer func() { stop(); <-served }()
	defer close(b.release)

	c, err := remote.Dial(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	done := make(chan error, 1)
	go func() {
		_, err := c.Stats(context.Background(), timeNow())
		done <- err
	}()
	<-b.entered
	tl.cut()
	err = <-done
	if !errors.Is(err, remote.ErrNoOwner) || !strings.Contains(err.Error(), "may or may not have taken effect") {
		t.Fatalf("Stats when the owner died mid-call = %v, want ErrNoOwner with an unknown outcome", err)
	}
}
