package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/benchrun"
	"github.com/joblot/joblot/internal/keyspace"
	"github.com/joblot/joblot/internal/rediskeys"
)

// meter returns what measures the store's size: Redis used_memory, or the
// embedded file's size. It goes through the backend, never the bolt
// handle: when another process owns the file the command runs through
// that owner's endpoint and has none.
func (s *store) meter() benchrun.Meter {
	if s.redis != nil {
		return redisMeter{b: s.redis, keys: s.redisKeys()}
	}
	return fileMeter{b: s.Backend, path: s.path}
}

// fileMeter measures the embedded store by its file size: the backend's
// own report when it is a backend.MemoryReporter (the file opened here, or
// an owner that reports through its endpoint), else the file's size on
// disk, which anyone who can open the store can read.
type fileMeter struct {
	b    backend.Backend
	path string
}

// UsedMemory implements benchrun.Meter.
func (m fileMeter) UsedMemory(ctx context.Context) (int64, error) {
	if mr, ok := m.b.(backend.MemoryReporter); ok {
		info, err := mr.Memory(ctx)
		if err != nil {
			return 0, fmt.Errorf("store size: %w", err)
		}
		return info.Used, nil
	}
	fi, err := os.Stat(m.path)
	if err != nil {
		return 0, fmt.Errorf("store size: %w", err)
	}
	return fi.Size(), nil
}

// Source implements benchrun.Meter.
func (m fileMeter) Source() string { return "file size" }

// redisMeter measures Redis memory with INFO and MEMORY USAGE.
type redisMeter struct {
	b *redis.Backend
	// keys is the backend's key layout.
	keys rediskeys.Layout
}

func (m redisMeter) UsedMemory(ctx context.Context) (int64, error) { return m.b.UsedMemory(ctx) }
func (m redisMeter) Source() string                                { return "redis used_memory" }

// BatchBytes sums MEMORY USAGE … SAMPLES 0 over the keys of the given
// batches.
func (m redisMeter) BatchBytes(ctx context.Context, ids []string) (int64, error) {
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		want[id] = true
	}
	var total int64
	err := scanBatchKeys(ctx, m.b.Client(), m.keys, func(id, _ string, bytes int64) {
		if want[id] {
			total += bytes
		}
	})
	return total, err
}

// BatchKeyBytes returns the bytes of each key of the given batches, by
// batch and key suffix ("meta", "bits", "errs", ...).
func (m redisMeter) BatchKeyBytes(ctx context.Context, ids []string) (map[string]map[string]int64, error) {
	out := make(map[string]map[string]int64, len(ids))
	for _, id := range ids {
		out[id] = map[string]int64{}
	}
	err := scanBatchKeys(ctx, m.b.Client(), m.keys, func(id, suffix string, bytes int64) {
		if keys, ok := out[id]; ok {
			keys[suffix] = bytes
		}
	})
	return out, err
}

// commandStats returns a reader of INFO commandstats on the given nodes,
// one after the other (benchrun.ParseCommandStats sums them). The nodes
// are resolved once, before measuring: resolving them (ROLE) during the
// measurement would count as the process's calls.
func commandStats(nodes []keyspace.Node) func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		var all strings.Builder
		for _, n := range nodes {
			s, err := n.Client.Do(ctx, n.Client.B().Info().Section("commandstats").Build()).ToString()
			if err != nil {
				return "", fmt.Errorf("node %s: %w", n.Addr, err)
			}
			all.WriteString(s)
			all.WriteString("\n")
		}
		return all.String(), nil
	}
}

// scanBatchKeys walks the batch keys ({jl:b:<id>}:<suffix>) of layout l on
// every primary (all the masters of a Cluster) with SCAN at a bounded COUNT
// and measures each with MEMORY USAGE … SAMPLES 0, one pipeline per SCAN
// page.
func scanBatchKeys(ctx context.Context, cl rueidis.Client, l rediskeys.Layout, fn func(id, suffix string, bytes int64)) error {
	nodes, err := keyspace.Primaries(ctx, cl)
	if err != nil {
		return err
	}
	for _, n := range nodes {
		if err := scanNodeBatchKeys(ctx, n.Client, l, fn); err != nil {
			return fmt.Errorf("node %s: %w", n.Addr, err)
		}
	}
	return nil
}

func scanNodeBatchKeys(ctx context.Context, c rueidis.Client, l rediskeys.Layout, fn func(id, suffix string, bytes int64)) error {
	var cursor uint64
	for {
		entry, err := c.Do(ctx, c.B().Scan().Cursor(cursor).Match(l.BatchKeyPattern()).Count(1000).Build()).AsScanEntry()
		if err != nil {
			return fmt.Errorf("scan batch keys: %w", err)
		}
		if len(entry.Elements) > 0 {
			cmds := make(rueidis.Commands, len(entry.Elements))
			for i, k := range entry.Elements {
				cmds[i] = c.B().MemoryUsage().Key(k).Samples(0).Build()
			}
			for i, r := range c.DoMulti(ctx, cmds...) {
				n, err := r.AsInt64()
				if rueidis.IsRedisNil(err) {
					continue // deleted between SCAN and MEMORY USAGE
				}
				if err != nil {
					return fmt.Errorf("memory usage %s: %w", entry.Elements[i], err)
				}
				if id, suffix, ok := l.ParseBatchKey(entry.Elements[i]); ok {
					fn(id, suffix, n)
				}
			}
		}
		cursor = entry.Cursor
		if cursor == 0 {
			return nil
		}
	}
}
