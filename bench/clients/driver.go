package main

import (
	"context"
	_ "embed"
	"fmt"
	"strconv"
	"strings"
)

// The workload's keys: one queue, "cb", and one process, "p1", all in the
// queue's hash slot, named as joblot names them (BRIEF §3).
const (
	keyJobs  = "{jl:q:cb}:jobs"
	keyWip   = "{jl:q:cb}:wip:p1"
	keyStats = "{jl:q:cb}:stats"
)

// idLen is the length of a payload's id prefix; fetch.lua uses it as the
// in-flight hash field and workers hand it to the ackers.
const idLen = 16

var (
	//go:embed fetch.lua
	fetchLua string
	//go:embed ack.lua
	ackLua string
)

// A driver runs the workload's Redis commands through one client library,
// used the way that library is meant to be used. Every method is safe for
// concurrent use: the workload calls Enqueue, Fetch and Ack from many
// goroutines at once.
type driver interface {
	// FlushAll empties the Redis server (FLUSHALL).
	FlushAll(ctx context.Context) error
	// Enqueue appends payloads to the queue with one RPUSH.
	Enqueue(ctx context.Context, payloads []string) error
	// Fetch runs fetch.lua (EVALSHA) claiming up to count jobs.
	Fetch(ctx context.Context, count int) ([]string, error)
	// Ack runs ack.lua (EVALSHA) for the given job ids.
	Ack(ctx context.Context, ids []string) error
	// Info returns the text of INFO section.
	Info(ctx context.Context, section string) (string, error)
	// Check reads the queue's state after a run.
	Check(ctx context.Context) (queueState, error)
	// Close releases the client's connections.
	Close()
}

// queueState is what Check reads: the processed counter and what is left
// in the queue and the in-flight hash.
type queueState struct {
	Processed int64
	Wip       int64
	Queued    int64
}

// newDriver connects the named client to the Redis at url.
func newDriver(name, url string) (driver, error) {
	switch name {
	case "rueidis":
		return newRueidisDriver(url)
	case "goredis":
		return newGoredisDriver(url)
	}
	return nil, fmt.Errorf("unknown client %q (want rueidis or goredis)", name)
}

// redisCPU returns used_cpu_user + used_cpu_sys, in seconds, from the text
// of INFO cpu.
func redisCPU(info string) (float64, error) {
	var sum float64
	var seen int
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok || (k != "used_cpu_user" && k != "used_cpu_sys") {
			continue
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return 0, fmt.Errorf("INFO cpu %s: %w", k, err)
		}
		sum += f
		seen++
	}
	if seen != 2 {
		return 0, fmt.Errorf("INFO cpu: used_cpu_user or used_cpu_sys missing")
	}
	return sum, nil
}
