package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// goredisDriver uses go-redis v9 the ordinary way: one pooled client shared
// by every goroutine (each call takes a connection from the pool), scripts
// run with redis.Script.Run (EVALSHA, EVAL on NOSCRIPT).
type goredisDriver struct {
	c     *redis.Client
	fetch *redis.Script
	ack   *redis.Script
}

func newGoredisDriver(url string) (*goredisDriver, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("go-redis: %w", err)
	}
	c := redis.NewClient(opt)
	if err := c.Ping(context.Background()).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("go-redis: connect: %w", err)
	}
	return &goredisDriver{c: c, fetch: redis.NewScript(fetchLua), ack: redis.NewScript(ackLua)}, nil
}

func (d *goredisDriver) FlushAll(ctx context.Context) error {
	return d.c.FlushAll(ctx).Err()
}

func (d *goredisDriver) Enqueue(ctx context.Context, payloads []string) error {
	vals := make([]any, len(payloads))
	for i, p := range payloads {
		vals[i] = p
	}
	return d.c.RPush(ctx, keyJobs, vals...).Err()
}

func (d *goredisDriver) Fetch(ctx context.Context, count int) ([]string, error) {
	got, err := d.fetch.Run(ctx, d.c, []string{keyJobs, keyWip}, count).StringSlice()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return got, err
}

func (d *goredisDriver) Ack(ctx context.Context, ids []string) error {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return d.ack.Run(ctx, d.c, []string{keyWip, keyStats}, args...).Err()
}

func (d *goredisDriver) Info(ctx context.Context, section string) (string, error) {
	return d.c.Info(ctx, section).Result()
}

func (d *goredisDriver) Check(ctx context.Context) (queueState, error) {
	var s queueState
	var err error
	if s.Processed, err = d.c.HGet(ctx, keyStats, "processed").Int64(); err != nil && !errors.Is(err, redis.Nil) {
		return s, fmt.Errorf("go-redis: HGET processed: %w", err)
	}
	if s.Wip, err = d.c.HLen(ctx, keyWip).Result(); err != nil {
		return s, fmt.Errorf("go-redis: HLEN wip: %w", err)
	}
	if s.Queued, err = d.c.LLen(ctx, keyJobs).Result(); err != nil {
		return s, fmt.Errorf("go-redis: LLEN jobs: %w", err)
	}
	return s, nil
}

func (d *goredisDriver) Close() { d.c.Close() }
