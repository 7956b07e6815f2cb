package redis

import (
	"context"
	"fmt"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/backend"
)

// procStopField is the field of a process's info hash that an operator
// sets to ask the process to stop (RequestStop).
const procStopField = "stop"

var _ backend.Stopper = (*Backend)(nil)

// RequestStop implements backend.Stopper the way RequestQuiet does: it
// sets the stop field of the live process's info hash, which the process
// reads on its heartbeat.
func (b *Backend) RequestStop(ctx context.Context, id string) error {
	if id == "" {
		return fmt.Errorf("joblot/redis: stop: no process id: %w", backend.ErrProcessNotFound)
	}
	err := b.c.Do(ctx, b.c.B().Zscore().Key(b.keys.Procs()).Member(id).Build()).Error()
	if rueidis.IsRedisNil(err) {
		return fmt.Errorf("joblot/redis: stop process %q: %w", id, backend.ErrProcessNotFound)
	}
	if err != nil {
		return wrap("stop process", err)
	}
	key := b.keys.Proc(id)
	for _, r := range b.c.DoMulti(ctx,
		b.c.B().Hset().Key(key).FieldValue().FieldValue(procStopField, "1").Build(),
		b.c.B().Pexpire().Key(key).Milliseconds(quietMarkTTL.Milliseconds()).Nx().Build()) {
		if err := r.Error(); err != nil {
			return wrap("stop process", err)
		}
	}
	return nil
}

// StopRequested implements backend.Stopper: one HGET on the heartbeat
// connection.
func (b *Backend) StopRequested(ctx context.Context, id string) (bool, error) {
	v, err := b.hb.Do(ctx, b.hb.B().Hget().Key(b.keys.Proc(id)).Field(procStopField).Build()).ToString()
	if rueidis.IsRedisNil(err) {
		return false, nil
	}
	if err != nil {
		return false, wrap("stop requested", err)
	}
	return v == "1", nil
}

var _ backend.ProcessRequestsReader = (*Backend)(nil)

// ProcessRequests implements backend.ProcessRequestsReader: one HMGET of
// the quiet and stop fields on the heartbeat connection.
func (b *Backend) ProcessRequests(ctx context.Context, id string) (backend.ProcessRequests, error) {
	vs, err := b.hb.Do(ctx, b.hb.B().Hmget().Key(b.keys.Proc(id)).Field(procQuietField, procStopField).Build()).ToArray()
	if err != nil {
		return backend.ProcessRequests{}, wrap("process requests", err)
	}
	set := func(i int) bool {
		if i >= len(vs) {
			return false
		}
		s, err := vs[i].ToString()
		return err == nil && s == "1"
	}
	return backend.ProcessRequests{Quiet: set(0), Stop: set(1)}, nil
}
