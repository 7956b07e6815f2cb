package joblot

import (
	"math/rand/v2"
	"time"
)

// RetryPolicy decides when a failed job runs again. retry is the number of
// the retry about to be scheduled, 1 for the first. A retrying job waits in
// the retry set and goes back to its queue on the server's next
// PollInterval tick once due, so the real delay is the policy's plus up to
// one PollInterval.
type RetryPolicy interface {
	NextRetry(retry int) time.Duration
}

// RetryPolicyFunc adapts a function to RetryPolicy.
type RetryPolicyFunc func(retry int) time.Duration

// NextRetry calls f.
func (f RetryPolicyFunc) NextRetry(retry int) time.Duration { return f(retry) }

// ConstantBackoff is a RetryPolicy that waits d before every retry.
type ConstantBackoff time.Duration

// NextRetry implements RetryPolicy.
func (d ConstantBackoff) NextRetry(int) time.Duration { return time.Duration(d) }

// SidekiqBackoff is the default policy, Sidekiq's curve: n⁴ + 15 + rand(10·(n+1))
// seconds for the n-th retry counted from 0, so 25 retries span about three
// weeks and leave time to deploy a fix.
type SidekiqBackoff struct{}

// NextRetry implements RetryPolicy.
func (SidekiqBackoff) NextRetry(retry int) time.Duration {
	n := retry - 1
	if n < 0 {
		n = 0
	}
	secs := n*n*n*n + 15 + rand.IntN(10*(n+1))
	return time.Duration(secs) * time.Second
}
