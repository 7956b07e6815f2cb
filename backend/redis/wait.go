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
	timeout = blockTimeout(timeout)
	_, err := b.doBlocking(ctx, timeout, nil, b.c.B().Blpop().Key(bells...).Timeout(timeout.Seconds()).Build())
	return err
}

// blockTimeout is the timeout a BLPOP is given for timeout: BLPOP 0 would
// block for ever.
func blockTimeout(timeout time.Duration) time.Duration { return max(timeout, 10*time.Millisecond) }

// doBlocking sends cmds, a blocking command of up to timeout first, in one
// pipeline on rueidis's dedicated connection, and returns their replies.
// err is about the first: nil when it returned (a reply, or nil at its
// timeout) or ctx ended the call, ErrWaitOverdue when its connection was
// dropped for silence.
//
// ctx carries no deadline into rueidis: a deadline would make it send the
// commands synchronously on the connection, where two waits sharing a
// node's blocking connection run one after the other (a ring for the
// second then waits for the first's timeout). When ctx is done, wake (nil:
// none) is called to make the blocking command return, so that the
// replies are still read; without a wake, or when it fails, the call is
// dropped at once.
//
// rueidis never pings a connection that has a blocking command
// outstanding, so on a half-open connection (the server or a middlebox
// vanished without a FIN or RST) the call would wait for ever and the
// fetcher with it. A timer drops it once Redis is overdue by waitGrace
// (past timeout, or past a wake); rueidis then drops that connection.
func (b *Backend) doBlocking(ctx context.Context, timeout time.Duration, wake func(context.Context) error, cmds ...rueidis.Completed) ([]rueidis.RedisResult, error) {
	rctx, drop := context.WithCancel(context.WithoutCancel(ctx))
	defer drop()
	overdue := time.AfterFunc(timeout+waitGrace, drop)
	defer overdue.Stop()
	defer context.AfterFunc(ctx, func() {
		if wake == nil {
			drop()
			return
		}
		// Not under rctx: drop() (as the wait returns) must not abort a
		// wake under way on the shared connection. While it did, a
		// Complete sent right after came back "context canceled" with its
		// own context live, in about one run in 20 to 40 of the WaitFetch
		// conformance tests under -race and two CPU burners; none in 60
		// runs since.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), waitGrace)
		defer cancel()
		if wake(wctx) != nil {
			drop() // Redis unreachable: the wait's connection is most likely gone too
			return
		}
		overdue.Reset(waitGrace)
	})()
	res := b.c.DoMulti(rctx, cmds...)
	err := res[0].Error()
	switch {
	case err == nil || rueidis.IsRedisNil(err) || ctx.Err() != nil:
		return res, nil
	case rctx.Err() != nil:
		return res, fmt.Errorf("joblot/redis: wait for jobs: %w (no reply within %s of BLPOP's timeout; connection dropped)", ErrWaitOverdue, waitGrace)
	}
	return res, wrap("wait for jobs", err)
}
