package redis

import (
	"context"
	"time"
)

// Lease takes or extends the named lease for holder (on the heartbeat
// connection: duties must not starve behind a busy pipeline).
func (b *Backend) Lease(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	got, err := b.run(ctx, b.hb, call{s: b.s.lease, keys: []string{b.keys.Lease(name)}, args: []string{holder, itoa(max(ttl.Milliseconds(), 1))}}).AsInt64()
	if err != nil {
		return false, wrap("lease "+name, err)
	}
	return got == 1, nil
}
