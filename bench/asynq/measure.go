package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// usedMemory returns Redis's INFO used_memory.
func usedMemory(ctx context.Context, rdb *redis.Client) (int64, error) {
	info, err := rdb.Info(ctx, "memory").Result()
	if err != nil {
		return 0, fmt.Errorf("INFO memory: %w", err)
	}
	for line := range strings.SplitSeq(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, fmt.Errorf("INFO memory has no used_memory")
}

// commandCalls returns the calls of every command in INFO commandstats.
// Commands that Lua scripts run are counted too (Redis 7 counts them).
func commandCalls(ctx context.Context, rdb *redis.Client) (map[string]int64, error) {
	info, err := rdb.Info(ctx, "commandstats").Result()
	if err != nil {
		return nil, fmt.Errorf("INFO commandstats: %w", err)
	}
	calls := map[string]int64{}
	for line := range strings.SplitSeq(info, "\r\n") {
		name, stats, ok := strings.Cut(strings.TrimPrefix(line, "cmdstat_"), ":calls=")
		if !ok {
			continue
		}
		n, _, _ := strings.Cut(stats, ",")
		calls[name], _ = strconv.ParseInt(n, 10, 64)
	}
	return calls, nil
}

// measureIdle waits a second for start-up to settle, then counts the Redis
// commands run during d, less the one INFO this function sends in between.
func measureIdle(ctx context.Context, rdb *redis.Client, d time.Duration) (*idleResult, error) {
	time.Sleep(time.Second)
	before, err := commandCalls(ctx, rdb)
	if err != nil {
		return nil, err
	}
	time.Sleep(d)
	after, err := commandCalls(ctx, rdb)
	if err != nil {
		return nil, err
	}
	after["info"]--
	res := &idleResult{DurationSec: d.Seconds(), Commands: map[string]int64{}}
	var total int64
	for name, n := range after {
		if delta := n - before[name]; delta > 0 {
			res.Commands[name] = delta
			total += delta
		}
	}
	res.RedisCallsPerSec = float64(total) / d.Seconds()
	return res, nil
}

// pace sends n planned instants, rate per second starting now, each when it
// is due, and returns the start. The schedule never waits for the consumer
// beyond the channel's buffer (open loop).
func pace(n, rate int, planned chan<- time.Time) time.Time {
	start := time.Now()
	interval := time.Second / time.Duration(rate)
	for i := range n {
		at := start.Add(time.Duration(i) * interval)
		if d := time.Until(at); d > 0 {
			time.Sleep(d)
		}
		planned <- at
	}
	close(planned)
	return start
}

// recorder collects latencies from concurrent handlers.
type recorder struct {
	mu   sync.Mutex
	cond *sync.Cond
	lat  []time.Duration
}

func newRecorder(n int) *recorder {
	r := &recorder{lat: make([]time.Duration, 0, n)}
	r.cond = sync.NewCond(&r.mu)
	return r
}

func (r *recorder) add(d time.Duration) {
	r.mu.Lock()
	r.lat = append(r.lat, d)
	r.mu.Unlock()
	r.cond.Broadcast()
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.lat)
}

// wait returns once n latencies are in or the timeout has passed.
func (r *recorder) wait(n int, timeout time.Duration) {
	timer := time.AfterFunc(timeout, r.cond.Broadcast)
	defer timer.Stop()
	deadline := time.Now().Add(timeout)
	r.mu.Lock()
	defer r.mu.Unlock()
	for len(r.lat) < n && time.Now().Before(deadline) {
		r.cond.Wait()
	}
}

// quantileMs returns the q-quantile (nearest rank) in milliseconds.
func (r *recorder) quantileMs(q float64) float64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.lat) == 0 {
		return 0
	}
	s := slices.Clone(r.lat)
	slices.Sort(s)
	i := max(int(math.Ceil(q*float64(len(s))))-1, 0)
	return float64(s[i].Microseconds()) / 1000
}

func printJSON(v any) {
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(v); err != nil {
		fail(err)
	}
}
