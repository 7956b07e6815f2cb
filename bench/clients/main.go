// Command clients measures the Redis client libraries joblot could use,
// rueidis and go-redis, on the shape of joblot's hot path, so that the
// choice of client rests on a rerunnable measurement (issue 2).
//
// For each client it flushes the Redis at --redis, enqueues --jobs
// 64-byte payloads (RPUSH, 1000 per command, 4 goroutines), then
// processes them: 2 fetchers loop fetch.lua (LPOP 200 + one variadic HSET
// into the in-flight hash), 50 workers do nothing, ackers batch up to 200
// ids into ack.lua (one variadic HDEL + one HINCRBY). It reports enqueue
// and process throughput, and for the process phase the client's CPU per
// job (getrusage of this process, user+sys), Redis's CPU per job (INFO
// cpu) and heap allocations per job. Clients alternate order each round;
// the summary is the median of the rounds. It fails if any job is lost.
//
// Usage:
//
//	go run ./clients --redis redis://127.0.0.1:6399 [--client rueidis|goredis|both] [--jobs 200000] [--rounds 3] [--json]
//	    [--ackers 2] [--fetch-count 200] [--ack-chunk 200]
//
// Run it against a private, otherwise idle Redis: it runs FLUSHALL.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"time"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "clients:", err)
		os.Exit(1)
	}
}

// config is the command line.
type config struct {
	url     string
	clients []string
	jobs    int
	rounds  int
	json    bool
	timeout time.Duration
	shape   shape
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("clients", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	var client string
	fs.StringVar(&c.url, "redis", "", "Redis URL (required; the server is FLUSHALLed)")
	fs.StringVar(&client, "client", "both", "client to measure: rueidis, goredis or both")
	fs.IntVar(&c.jobs, "jobs", 200000, "jobs per client per round")
	fs.IntVar(&c.rounds, "rounds", 3, "rounds; clients alternate order each round, medians are reported")
	fs.BoolVar(&c.json, "json", false, "print one JSON object per client instead of the tables")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Minute, "give up after this long")
	fs.IntVar(&c.shape.Ackers, "ackers", 2, "acker goroutines")
	fs.IntVar(&c.shape.FetchCount, "fetch-count", 200, "jobs claimed per fetch.lua call")
	fs.IntVar(&c.shape.AckChunk, "ack-chunk", 200, "most ids per ack.lua call")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	c.shape.Enqueuers, c.shape.EnqueueChunk = 4, 1000
	c.shape.Fetchers = 2
	c.shape.Workers = 50
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	case c.url == "":
		return c, errors.New("--redis is required (e.g. redis://127.0.0.1:6399)")
	case c.jobs <= 0 || c.rounds <= 0 || c.shape.Ackers <= 0:
		return c, errors.New("--jobs, --rounds and --ackers must be positive")
	case c.shape.FetchCount <= 0 || c.shape.FetchCount > 1000 || c.shape.AckChunk <= 0 || c.shape.AckChunk > 1000:
		return c, errors.New("--fetch-count and --ack-chunk must be in 1..1000 (Lua's unpack limit)")
	}
	switch client {
	case "both":
		c.clients = []string{"rueidis", "goredis"}
	case "rueidis", "goredis":
		c.clients = []string{client}
	default:
		return c, fmt.Errorf("--client %q: want rueidis, goredis or both", client)
	}
	return c, nil
}

func run(args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.timeout)
	defer cancel()

	drivers := make(map[string]driver, len(cfg.clients))
	for _, name := range cfg.clients {
		d, err := newDriver(name, cfg.url)
		if err != nil {
			return err
		}
		defer d.Close()
		drivers[name] = d
	}
	payloads := makePayloads(cfg.jobs, 64)

	results := make(map[string][]result, len(cfg.clients))
	var all []result
	for round := range cfg.rounds {
		order := slices.Clone(cfg.clients)
		if round%2 == 1 {
			slices.Reverse(order)
		}
		for _, name := range order {
			r, err := runRound(ctx, name, drivers[name], payloads, cfg.shape)
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", round+1, name, err)
			}
			fmt.Fprintf(stderr, "round %d %-8s process %8.0f jobs/s, client CPU %.2f µs/job, Redis CPU %.2f µs/job\n",
				round+1, name, r.ProcessJobsPerSec, r.ClientCPU, r.RedisCPU)
			results[name] = append(results[name], r)
			all = append(all, r)
		}
	}

	if cfg.json {
		enc := json.NewEncoder(stdout)
		for _, name := range cfg.clients {
			if err := enc.Encode(summaryOf(name, results[name])); err != nil {
				return err
			}
		}
		return nil
	}
	fmt.Fprintf(stdout, "%d jobs of 64 B per client per round, %d rounds; process = %d fetchers (%d/fetch), %d workers, %d ackers (≤%d/ack)\n\n",
		cfg.jobs, cfg.rounds, cfg.shape.Fetchers, cfg.shape.FetchCount, cfg.shape.Workers, cfg.shape.Ackers, cfg.shape.AckChunk)
	fmt.Fprintln(stdout, "Per round:")
	fmt.Fprintln(stdout)
	printTable(stdout, all)
	fmt.Fprintln(stdout)
	fmt.Fprintln(stdout, "Median of rounds:")
	fmt.Fprintln(stdout)
	var meds []result
	for _, name := range cfg.clients {
		meds = append(meds, summaryOf(name, results[name]).Median)
	}
	printTable(stdout, meds)
	return nil
}

// summary is one client's medians and every round's result.
type summary struct {
	Client string   `json:"client"`
	Median result   `json:"median"`
	Rounds []result `json:"rounds"`
}

func summaryOf(name string, rs []result) summary {
	med := func(f func(result) float64) float64 {
		v := make([]float64, len(rs))
		for i, r := range rs {
			v[i] = f(r)
		}
		return median(v)
	}
	m := result{Client: name, Jobs: rs[0].Jobs}
	m.EnqueueJobsPerSec = med(func(r result) float64 { return r.EnqueueJobsPerSec })
	m.EnqueueClientCPU = med(func(r result) float64 { return r.EnqueueClientCPU })
	m.ProcessJobsPerSec = med(func(r result) float64 { return r.ProcessJobsPerSec })
	m.ClientCPU = med(func(r result) float64 { return r.ClientCPU })
	m.RedisCPU = med(func(r result) float64 { return r.RedisCPU })
	m.Allocs = med(func(r result) float64 { return r.Allocs })
	for _, r := range rs {
		m.Processed += r.Processed
		m.Lost += r.Lost
	}
	return summary{Client: name, Median: m, Rounds: rs}
}

// median returns the middle value of v (the mean of the two middle ones
// for an even count). It sorts v.
func median(v []float64) float64 {
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// printTable prints results as a markdown table.
func printTable(w io.Writer, rs []result) {
	fmt.Fprintln(w, "| client | enqueue jobs/s | enqueue client CPU µs/job | process jobs/s | process client CPU µs/job | process Redis CPU µs/job | allocs/job | lost |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|---:|")
	for _, r := range rs {
		fmt.Fprintf(w, "| %s | %.0f | %.2f | %.0f | %.2f | %.2f | %.1f | %d |\n",
			r.Client, r.EnqueueJobsPerSec, r.EnqueueClientCPU, r.ProcessJobsPerSec, r.ClientCPU, r.RedisCPU, r.Allocs, r.Lost)
	}
}
