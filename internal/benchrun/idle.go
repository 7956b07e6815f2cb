package benchrun

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/keyspace"
)

// CommandStats maps a Redis command name to its call count, as INFO
// commandstats reports them.
type CommandStats map[string]int64

// ParseCommandStats parses the output of INFO commandstats: lines like
// "cmdstat_get:calls=12,usec=30,usec_per_call=2.50,...". The outputs of
// several nodes, one after the other, sum up.
func ParseCommandStats(info string) (CommandStats, error) {
	stats := CommandStats{}
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		name, rest, ok := strings.Cut(line, ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		for _, kv := range strings.Split(rest, ",") {
			k, v, _ := strings.Cut(kv, "=")
			if k != "calls" {
				continue
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("commandstats: %q: %w", line, err)
			}
			stats[strings.TrimPrefix(name, "cmdstat_")] += n // summed over a Cluster's nodes
		}
	}
	return stats, sc.Err()
}

// CommandRate is one command's share of an idle process's Redis calls.
type CommandRate struct {
	Command string  `json:"command"`
	Calls   int64   `json:"calls"`
	PerSec  float64 `json:"per_sec"`
}

// IdleResult is the JSON output of `joblot bench idle`.
type IdleResult struct {
	// RedisCallsPerSec counts every command Redis executed for the idle
	// process, commands run by its Lua scripts included (Redis counts
	// those in commandstats too).
	RedisCallsPerSec float64       `json:"redis_calls_per_sec"`
	Calls            int64         `json:"calls"`
	DurationSeconds  float64       `json:"duration_seconds"`
	Commands         []CommandRate `json:"commands"`
}

// IdleConfig configures an idle measurement.
type IdleConfig struct {
	Duration time.Duration
	// Warmup lets the server's start-up calls pass before measuring
	// (default 2 s).
	Warmup time.Duration
	Queue  string
	Logger *slog.Logger
	// InfoCalls is how many INFO commands one commandStats snapshot sends
	// (one per node of a Cluster; default 1); they are the measurement's,
	// not the process's, and are taken out.
	InfoCalls int
}

// Idle starts a server with nothing to do and measures the Redis calls it
// makes: the delta of INFO commandstats over cfg.Duration, less the
// measurement's own INFO call. commandStats runs INFO commandstats; the
// Redis must be otherwise quiet for the figure to mean anything.
func Idle(ctx context.Context, b backend.Backend, commandStats func(context.Context) (string, error), cfg IdleConfig) (*IdleResult, error) {
	if cfg.Duration <= 0 {
		return nil, fmt.Errorf("bench idle: --duration must be positive")
	}
	if cfg.Warmup <= 0 {
		cfg.Warmup = 2 * time.Second
	}
	if cfg.InfoCalls <= 0 {
		cfg.InfoCalls = 1
	}
	if cfg.Queue == "" {
		cfg.Queue = DefaultQueue
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	ws := joblot.NewWorkers()
	joblot.AddWorker(ws, joblot.WorkFunc[Args](func(context.Context, *joblot.Job[Args]) error { return nil }), nil)
	srv, err := joblot.NewServer(b, joblot.ServerConfig{Workers: ws, Queues: map[string]int{cfg.Queue: 1}, Logger: cfg.Logger})
	if err != nil {
		return nil, err
	}
	if err := srv.Start(ctx); err != nil {
		return nil, err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = srv.Stop(sctx)
	}()
	if err := keyspace.Pause(ctx, cfg.Warmup); err != nil {
		return nil, err
	}
	snap := func() (CommandStats, time.Time, error) {
		raw, err := commandStats(ctx)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("bench idle: INFO commandstats: %w", err)
		}
		st, err := ParseCommandStats(raw)
		return st, time.Now(), err
	}
	before, t0, err := snap()
	if err != nil {
		return nil, err
	}
	if err := keyspace.Pause(ctx, cfg.Duration); err != nil {
		return nil, err
	}
	after, t1, err := snap()
	if err != nil {
		return nil, err
	}
	return idleResult(before, after, t1.Sub(t0), cfg.InfoCalls), nil
}

// idleResult computes the per-command deltas. The first snapshot's INFO
// calls (infoCalls of them) are counted in the second snapshot; they are
// the measurement's, not the process's, so they are taken out.
func idleResult(before, after CommandStats, d time.Duration, infoCalls int) *IdleResult {
	res := &IdleResult{DurationSeconds: d.Seconds()}
	for cmd, n := range after {
		delta := n - before[cmd]
		if cmd == "info" {
			delta -= int64(infoCalls)
		}
		if delta <= 0 {
			continue
		}
		res.Calls += delta
		res.Commands = append(res.Commands, CommandRate{Command: cmd, Calls: delta, PerSec: float64(delta) / d.Seconds()})
	}
	sort.Slice(res.Commands, func(i, j int) bool {
		if res.Commands[i].Calls != res.Commands[j].Calls {
			return res.Commands[i].Calls > res.Commands[j].Calls
		}
		return res.Commands[i].Command < res.Commands[j].Command
	})
	res.RedisCallsPerSec = float64(res.Calls) / d.Seconds()
	return res
}
