package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/internal/redistest"
)

// redisClient connects to srv with a plain client for test setup and checks.
func redisClient(t *testing.T, srv *redistest.Server) rueidis.Client {
	t.Helper()
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{srv.Addr}, DisableCache: true, ForceSingleClient: true}) // this node only, even in a Cluster
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

func redisDo(t *testing.T, c rueidis.Client, args ...string) rueidis.RedisResult {
	t.Helper()
	r := c.Do(context.Background(), c.B().Arbitrary(args[0]).Args(args[1:]...).Build())
	if err := r.Error(); err != nil && !rueidis.IsRedisNil(err) {
		t.Fatalf("%v: %v", args, err)
	}
	return r
}

// sidekiqFixture is a legacy Sidekiq Pro keyspace: batches whose failinfo
// hashes hold one entry per failed job (docs/data-model.md), queues, sets, stats,
// and keys of another application, some named like Sidekiq's.
type sidekiqFixture struct {
	failinfo      []string // the b-<bid>-failinfo keys
	failinfoBytes int64    // MEMORY USAGE ... SAMPLES 0 summed over them
	unrelated     []string // keys no cleanup target may touch
	keys          int      // every key written
}

func fillSidekiq(t *testing.T, c rueidis.Client, batches, failuresPerBatch int) *sidekiqFixture {
	t.Helper()
	f := &sidekiqFixture{}
	ctx := context.Background()
	msg := strings.Repeat("Net::ReadTimeout with #<TCPSocket:(closed)> ", 4)
	var cmds rueidis.Commands
	add := func(args ...string) {
		cmds = append(cmds, c.B().Arbitrary(args[0]).Keys(args[1]).Args(args[2:]...).Build())
	}
	for i := 0; i < batches; i++ {
		bid := fmt.Sprintf("Zq8_%010d", i)
		hset := []string{"HSET", "b-" + bid + "-failinfo"}
		for j := 0; j < failuresPerBatch; j++ {
			hset = append(hset, fmt.Sprintf("%024x", i*100000+j), `["Net::ReadTimeout","`+msg+`"]`)
		}
		add(hset...)
		f.failinfo = append(f.failinfo, "b-"+bid+"-failinfo")
		add("HSET", "b-"+bid, "total", fmt.Sprint(failuresPerBatch), "pending", "0")
		add("SADD", "b-"+bid+"-jids", "a1", "b2")
		add("SADD", "b-"+bid+"-failed", "a1")
		f.keys += 4
	}
	add("LPUSH", "queue:default", `{"class":"HardWorker","args":[1]}`)
	add("ZADD", "schedule", "1", `{"class":"Later"}`)
	add("ZADD", "retry", "1", `{"class":"Again"}`)
	add("ZADD", "dead", "1", `{"class":"Gone"}`)
	add("SET", "stat:processed", "123456")
	add("SADD", "processes", "host:1:abc")
	f.keys += 6
	f.unrelated = []string{"myapp:session:1", "b-not-a-sidekiq-batch!", "cache:b-x-failinfo", "b-Zq8_0000000000-failinfo-archive"}
	for _, k := range f.unrelated {
		add("SET", k, "keep me")
	}
	// Named like a failinfo hash, but a string: not Sidekiq Pro's.
	f.unrelated = append(f.unrelated, "b-lookalike-failinfo")
	add("SET", "b-lookalike-failinfo", "not a hash")
	f.keys += len(f.unrelated)
	for _, r := range c.DoMulti(ctx, cmds...) {
		if err := r.Error(); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range f.failinfo {
		n, err := redisDo(t, c, "MEMORY", "USAGE", k, "SAMPLES", "0").AsInt64()
		if err != nil {
			t.Fatal(err)
		}
		f.failinfoBytes += n
	}
	return f
}
