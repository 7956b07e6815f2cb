package redis

import (
	"context"
	"time"

	"github.com/joblot/joblot/backend"
)

// Lease implements backend.Backend (see lease).
func (b *Backend) Lease(ctx context.Context, p backend.LeaseParams) (backend.LeaseResult, error) {
	held, err := b.lease(ctx, p.Name, p.Holder, p.TTL)
	return backend.LeaseResult{Held: held}, err
}

// lease takes or extends the named lease for holder (on the heartbeat
// connection: duties must not starve behind a busy pipeline); a ttl of zero
// or less gives it up if holder has it.
func (b *Backend) lease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	ttlArg := "0" // lease.lua: give up
	if ttl > 0 {
		ttlArg = itoa(max(ttl.Milliseconds(), 1))
	}
	got, err := b.run(ctx, b.hb, call{s: b.s.lease, keys: []string{b.keys.Lease(name)}, args: []string{holder, ttlArg}}).AsInt64()
	if err != nil {
		return false, wrap("lease "+name, err)
	}
	return got == 1, nil
}
