package redis

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/backend"
)

// Job output and progress (backend.OutputStore). The records of every
// queue share the {jl:out} slot, so that one script checks the global
// byte cap atomically (rediskeys documents the keys).

var _ backend.OutputStore = (*Backend)(nil)

// outputExpireChunk bounds the records one output_expire.lua call removes.
const outputExpireChunk = 500

// SetProgress implements backend.OutputStore.
func (b *Backend) SetProgress(ctx context.Context, p backend.SetProgressParams) (backend.SetProgressResult, error) {
	o := &backend.JobOutput{Queue: p.Queue, ID: p.ID, Progress: p.Progress, Note: p.Note, HasProgress: true, UpdatedAt: p.Now}
	if err := o.Validate(); err != nil {
		return backend.SetProgressResult{}, err
	}
	c, err := b.outputPut(p.Now, []*backend.JobOutput{o})
	if err != nil {
		return backend.SetProgressResult{}, err
	}
	n, err := b.run(ctx, b.c, c).AsInt64()
	if err != nil {
		return backend.SetProgressResult{}, wrap("set progress", err)
	}
	return backend.SetProgressResult{Stored: n == 1}, nil
}

// JobOutput implements backend.OutputStore.
func (b *Backend) JobOutput(ctx context.Context, queue, id string) (*backend.JobOutput, error) {
	v, err := b.c.Do(ctx, b.c.B().Hget().Key(b.keys.OutData()).Field(backend.OutputMember(queue, id)).Build()).AsBytes()
	if rueidis.IsRedisNil(err) {
		return nil, fmt.Errorf("job %s of queue %s: %w", id, queue, backend.ErrNoOutput)
	}
	if err != nil {
		return nil, wrap("job output", err)
	}
	o, err := backend.DecodeOutput(v)
	if err != nil {
		return nil, err
	}
	if !o.UpdatedAt.Add(b.limits.OutputTTL).After(b.now()) { // expired, not yet swept
		return nil, fmt.Errorf("job %s of queue %s: %w", id, queue, backend.ErrNoOutput)
	}
	return o, nil
}

// outputPut is the output_put.lua call that stores records os.
func (b *Backend) outputPut(now time.Time, os []*backend.JobOutput) (call, error) {
	args := make([]string, 0, 4+2*len(os))
	args = append(args, ms(now), ms(now.Add(b.limits.OutputTTL)), itoa(b.limits.OutputMaxBytes), itoa(backend.OutputSweep))
	for _, o := range os {
		v, err := backend.EncodeOutput(o)
		if err != nil {
			return call{}, err
		}
		args = append(args, backend.OutputMember(o.Queue, o.ID), string(v))
	}
	return call{s: b.s.outputPut, keys: b.keys.OutputKeys(), args: args}, nil
}

// outputCalls are the calls that record the outputs of acknowledged
// items: one output_put.lua call for the successes that carry a record,
// one output_clear.lua call for the other outcomes that recorded
// progress. Nothing for items without one (the common case).
func (b *Backend) outputCalls(items []item, now time.Time) []call {
	var put []*backend.JobOutput
	var clear []string
	for i := range items {
		o := items[i].output
		switch {
		case o == nil:
		case items[i].outcome == backend.OutcomeSucceeded:
			if o.Validate() == nil {
				put = append(put, o)
			}
		default:
			clear = append(clear, backend.OutputMember(o.Queue, o.ID))
		}
	}
	var calls []call
	if len(put) > 0 {
		if c, err := b.outputPut(now, put); err == nil {
			calls = append(calls, c)
		}
	}
	if len(clear) > 0 {
		calls = append(calls, call{s: b.s.outputClear, keys: b.keys.OutputKeys(), args: clear})
	}
	return calls
}

// isOutputCall reports whether c records output: its failure (the store
// at its memory limit refuses the write) loses the output, not the ack.
func (b *Backend) isOutputCall(c call) bool {
	return c.s == b.s.outputPut || c.s == b.s.outputClear
}

// expireOutputs removes the output records whose lifetime ended before
// now, in chunks; it returns how many.
func (b *Backend) expireOutputs(ctx context.Context, now time.Time) (int, error) {
	total := 0
	for {
		n, err := b.run(ctx, b.c, call{s: b.s.outputExpire, keys: b.keys.OutputKeys(), args: []string{ms(now), itoa(outputExpireChunk)}}).AsInt64()
		if err != nil {
			return total, wrap("expire job outputs", err)
		}
		total += int(n)
		if n < outputExpireChunk {
			return total, nil
		}
	}
}

// outputStats reads the output counters into s.
func outputStats(s *backend.Stats, meta, records rueidis.RedisResult) error {
	if err := errors.Join(meta.Error(), records.Error()); err != nil {
		return wrap("stats: job outputs", err)
	}
	m, _ := meta.AsIntMap()
	s.OutputBytes, s.OutputDropped = m["bytes"], m["dropped"]
	s.OutputRecords, _ = records.AsInt64()
	return nil
}
