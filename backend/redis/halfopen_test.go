package redis

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/joblot/joblot/internal/faultproxy"
	"github.com/joblot/joblot/internal/redistest"
)

// TestWaitForJobsSurvivesHalfOpenConnection: a BLPOP whose connection went
// half-open (no reply, no FIN, no RST) used to block its fetcher for ever,
// because rueidis does not ping a connection with a blocking command
// outstanding. WaitForJobs now gives up past its timeout plus waitGrace,
// and the next wait works on a fresh connection.
func TestWaitForJobsSurvivesHalfOpenConnection(t *testing.T) {
	srv := redistest.Start(t)
	p, err := faultproxy.Start(srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	b, err := Open(ctx, Options{URL: "redis://" + p.Addr()})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	// A first wait opens the blocking connection.
	if err := b.WaitForJobs(ctx, []string{"q"}, 10*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	started := make(chan struct{})
	go func() {
		close(started)
		done <- b.WaitForJobs(ctx, []string{"q"}, 100*time.Millisecond)
	}()
	<-started
	// Whether the BLPOP is already sent or not, it goes out on the
	// pooled blocking connection, which turns half-open now.
	p.HalfOpenAll()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, ErrWaitOverdue) {
			t.Fatalf("WaitForJobs on a half-open connection: %v, want nil or ErrWaitOverdue", err)
		}
	case <-time.After(5 * time.Minute):
		t.Fatal("WaitForJobs on a half-open connection never returned")
	}
	// And waiting works again, on a fresh connection.
	if err := b.WaitForJobs(ctx, []string{"q"}, 10*time.Millisecond); err != nil {
		t.Fatalf("WaitForJobs after a half-open connection: %v", err)
	}
}
