// Package keyspace holds the small pieces that the memory report, cleanup
// and the Redis backend's memory readings share to walk a Redis keyspace
// without blocking it: the list of primaries to SCAN or ask (one for
// standalone and Sentinel, every master of a Cluster) and a context-aware
// pause between bounded calls.
package keyspace

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"
)

// Node is one primary whose keys are walked with SCAN.
type Node struct {
	// Addr is host:port as the client knows it.
	Addr string
	// Client sends commands to this node only.
	Client rueidis.Client
}

// Primaries returns the nodes holding writable keys, in address order: the
// client's nodes whose ROLE is master. SCAN on a replica would count keys
// twice and cleanup must write to primaries, so replicas are skipped.
func Primaries(ctx context.Context, c rueidis.Client) ([]Node, error) {
	nodes := c.Nodes()
	if len(nodes) == 1 {
		for addr, n := range nodes {
			return []Node{{Addr: addr, Client: n}}, nil
		}
	}
	var out []Node
	for addr, n := range nodes {
		role, err := n.Do(ctx, n.B().Role().Build()).ToArray()
		if err != nil {
			return nil, fmt.Errorf("keyspace: ROLE on %s: %w", addr, err)
		}
		if len(role) == 0 {
			continue
		}
		if r, _ := role[0].ToString(); strings.EqualFold(r, "master") {
			out = append(out, Node{Addr: addr, Client: n})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("keyspace: no primary among %d nodes", len(nodes))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Addr < out[j].Addr })
	return out, nil
}

// Pause sleeps d, or returns ctx's error early. A zero d returns at once
// (after checking ctx), so callers can always call it between two calls.
func Pause(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Info returns the integer fields of one INFO section (e.g. "memory").
func Info(ctx context.Context, c rueidis.Client, section string) (map[string]int64, error) {
	text, err := c.Do(ctx, c.B().Info().Section(section).Build()).ToString()
	if err != nil {
		return nil, fmt.Errorf("keyspace: INFO %s: %w", section, err)
	}
	out := make(map[string]int64)
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			out[k] = n
		}
	}
	return out, nil
}
