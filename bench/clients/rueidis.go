package main

import (
	"context"
	"fmt"

	"github.com/redis/rueidis"
)

// rueidisDriver uses rueidis as joblot does: one client shared by every
// goroutine, whose concurrent Do calls are auto-pipelined onto few
// connections, scripts run with EVALSHA through rueidis.Lua.
type rueidisDriver struct {
	c     rueidis.Client
	fetch *rueidis.Lua
	ack   *rueidis.Lua
}

func newRueidisDriver(url string) (*rueidisDriver, error) {
	opt, err := rueidis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("rueidis: %w", err)
	}
	opt.DisableCache = true // joblot does not use client-side caching
	c, err := rueidis.NewClient(opt)
	if err != nil {
		return nil, fmt.Errorf("rueidis: connect: %w", err)
	}
	return &rueidisDriver{c: c, fetch: rueidis.NewLuaScript(fetchLua), ack: rueidis.NewLuaScript(ackLua)}, nil
}

func (d *rueidisDriver) FlushAll(ctx context.Context) error {
	return d.c.Do(ctx, d.c.B().Flushall().Build()).Error()
}

func (d *rueidisDriver) Enqueue(ctx context.Context, payloads []string) error {
	return d.c.Do(ctx, d.c.B().Rpush().Key(keyJobs).Element(payloads...).Build()).Error()
}

func (d *rueidisDriver) Fetch(ctx context.Context, count int) ([]string, error) {
	return d.fetch.Exec(ctx, d.c, []string{keyJobs, keyWip}, []string{itoa(count)}).AsStrSlice()
}

func (d *rueidisDriver) Ack(ctx context.Context, ids []string) error {
	return d.ack.Exec(ctx, d.c, []string{keyWip, keyStats}, ids).Error()
}

func (d *rueidisDriver) Info(ctx context.Context, section string) (string, error) {
	return d.c.Do(ctx, d.c.B().Info().Section(section).Build()).ToString()
}

func (d *rueidisDriver) Check(ctx context.Context) (queueState, error) {
	var s queueState
	res := d.c.DoMulti(ctx,
		d.c.B().Hget().Key(keyStats).Field("processed").Build(),
		d.c.B().Hlen().Key(keyWip).Build(),
		d.c.B().Llen().Key(keyJobs).Build(),
	)
	var err error
	if s.Processed, err = res[0].AsInt64(); err != nil && !rueidis.IsRedisNil(err) {
		return s, fmt.Errorf("rueidis: HGET processed: %w", err)
	}
	if s.Wip, err = res[1].AsInt64(); err != nil {
		return s, fmt.Errorf("rueidis: HLEN wip: %w", err)
	}
	if s.Queued, err = res[2].AsInt64(); err != nil {
		return s, fmt.Errorf("rueidis: LLEN jobs: %w", err)
	}
	return s, nil
}

func (d *rueidisDriver) Close() { d.c.Close() }
