package redis

import (
	"context"
	"time"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/backend"
)

var _ backend.Waiter = (*Backend)(nil)

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
	bctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	defer context.AfterFunc(ctx, cancel)()
	err := b.c.Do(bctx, b.c.B().Blpop().Key(bells...).Timeout(timeout.Seconds()).Build()).Error()
	if err == nil || rueidis.IsRedisNil(err) || ctx.Err() != nil {
		return nil
	}
	return wrap("wait for jobs", err)
}
