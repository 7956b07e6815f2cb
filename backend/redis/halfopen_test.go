package redis

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/faultproxy"
	"github.com/joblot/joblot/internal/redistest"
)

// TestWaitForJobsSurvivesHalfOpenConnection: a BLPOP whose connection went
// half-open (no reply, no FIN, no RST) used to block its fetcher for ever,
// because rueidis does not ping a connection with a blocking command
// outstanding. WaitForJobs now gives up past its timeout plus waitGrace,
// and the next wait works on a fresh connection. WaitFetch, which sends
// its fetch behind the BLPOP, does the same.
func TestWaitForJobsSurvivesHalfOpenConnection(t *testing.T) {
	waits := map[string]func(ctx context.Context, b *Backend, timeout time.Duration) error{
		"WaitForJobs": func(ctx context.Context, b *Backend, timeout time.Duration) error {
			return b.WaitForJobs(ctx, []string{"q"}, timeout)
		},
		"WaitFetch": func(ctx context.Context, b *Backend, timeout time.Duration) error {
			_, _, err := b.WaitFetch(ctx, backend.FetchParams{Proc: "p1", Queues: []string{"q"}, Max: 10}, timeout)
			return err
		},
	}
	for name, wait := range waits {
		t.Run(name, func(t *testing.T) { testWaitSurvivesHalfOpen(t, wait) })
	}
}

func testWaitSurvivesHalfOpen(t *testing.T, wait func(ctx context.Context, b *Backend, timeout time.Duration) error) {
	b, p := openBehindProxy(t)
	ctx := context.Background()
	// A first wait opens the blocking connection.
	if err := wait(ctx, b, 10*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		close(started)
		done <- wait(ctx, b, 100*time.Millisecond)
	}()
	<-started
	// Whether the BLPOP is already sent or not, it goes out on the
	// pooled blocking connection, which turns half-open now.
	p.HalfOpenAll()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, ErrWaitOverdue) {
			t.Fatalf("a wait on a half-open connection: %v, want nil or ErrWaitOverdue", err)
		}
	case <-time.After(5 * time.Minute):
		t.Fatal("a wait on a half-open connection never returned")
	}
	// And waiting works again, on a fresh connection.
	if err := wait(ctx, b, 10*time.Millisecond); err != nil {
		t.Fatalf("a wait after a half-open connection: %v", err)
	}
}

// TestCancelledWaitFetchOnHalfOpenConnection: Quiet or Stop ends a
// WaitFetch by pushing to the process's wake list and reading the reply;
// when the connections went half-open, neither ever comes, and the wait
// still ends, within waitGrace of the cancel, not at its own timeout.
func TestCancelledWaitFetchOnHalfOpenConnection(t *testing.T) {
	b, p := openBehindProxy(t)
	params := backend.FetchParams{Proc: "p1", Queues: []string{"q"}, Max: 10}
	if _, _, err := b.WaitFetch(context.Background(), params, 10*time.Millisecond); err != nil {
		t.Fatal(err) // opens the connections and caches the scripts
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, _, err := b.WaitFetch(ctx, params, time.Hour)
		done <- err
	}()
	p.HalfOpenAll()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("a cancelled wait on a half-open connection: %v, want nil", err)
		}
	case <-time.After(5 * time.Minute):
		t.Fatal("a cancelled wait on a half-open connection did not return")
	}
}

// openBehindProxy opens a backend on a fresh redis-server reached through
// a fault proxy, both closed when t ends.
func openBehindProxy(t *testing.T) (*Backend, *faultproxy.Proxy) {
	t.Helper()
	srv := redistest.Start(t)
	p, err := faultproxy.Start(srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	b, err := Open(context.Background(), Options{URL: "redis://" + p.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b, p
}
