package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/backend"
)

var _ backend.Waiter = (*Backend)(nil)

// waitGrace is how long past BLPOP's own timeout WaitForJobs waits for
// Redis's reply before it gives the connection up as dead.
const waitGrace = writeTimeout

// ErrWaitOverdue is returned by WaitForJobs when Redis did not answer a
// BLPOP within waitGrace of its timeout: the connection was most likely
// half-open, and was dropped.
var ErrWaitOverdue = errors.New("redis did not answer a blocking wait")

// WaitForJobs implements backend.Waiter with BLPOP on the queues' bells
// ({jl:q:<q>}:bell, rung by the scripts that put jobs into an empty
// queue): one waiter per ring, so an enqueue wakes one process, which wakes
// the next when it leaves a backlog. rueidis runs the blocking command on a
// dedicated connection. On a Cluster the bells live on different nodes, so
// each is waited on by its own BLPOP and the first to return wins.
func (b *Backend) WaitForJobs(ctx context.Context, queues []string, timeout time.Duration) error {
	if len(queues) == 0 {
		return nil
	}
	if b.c.Mode() != rueidis.ClientModeCluster || len(queues) == 1 {
		bells := make([]string, len(queues))
		for i, q := range queues {
			bells[i] = b.keys.QBell(q)
		}
		return b.waitBells(ctx, bells, timeout)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, len(queues))
	for _, q := range queues {
		go func() { done <- b.waitBells(ctx, []string{b.keys.QBell(q)}, timeout) }()
	}
	err := <-done
	cancel()
	for range len(queues) - 1 {
		<-done
	}
	return err
}

// waitBells runs one BLPOP over bells.
func (b *Backend) waitBells(ctx context.Context, bells []string, timeout time.Duration) error {
	timeout = max(timeout, 10*time.Millisecond) // BLPOP 0 would block for ever
	// BLPOP's own timeout bounds the wait; ctx only cancels it. A deadline
	// on ctx would make rueidis send the command synchronously on its
	// connection, where two waits sharing a node's blocking connection run
	// one after the other (a ring for the second then waits for the
	// first's timeout).
	//
	// rueidis never pings a connection that has a blocking command
	// outstanding, so on a half-open connection (the server or a middlebox
	// vanished without a FIN or RST) the BLPOP would wait for ever and the
	// fetcher with it. A timer cancels it once Redis is overdue by
	// waitGrace; rueidis then drops that connection.
	bctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	defer context.AfterFunc(ctx, cancel)()
	overdue := time.AfterFunc(timeout+waitGrace, cancel)
	defer overdue.Stop()
	err := b.c.Do(bctx, b.c.B().Blpop().Key(bells...).Timeout(timeout.Seconds()).Build()).Error()
	if err == nil || rueidis.IsRedisNil(err) || ctx.Err() != nil {
		return nil
	}
	if bctx.Err() != nil {
		return fmt.Errorf("joblot/redis: wait for jobs: %w (no reply within %s of BLPOP's timeout; connection dropped)", ErrWaitOverdue, waitGrace)
	}
	return wrap("wait for jobs", err)
}
