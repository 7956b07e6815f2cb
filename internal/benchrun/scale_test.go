package benchrun

import (
	"strings"
	"testing"
)

func TestParseCommandUsecCountsScriptsOnce(t *testing.T) {
	info := strings.Join([]string{
		"# Commandstats",
		"cmdstat_evalsha:calls=10,usec=500,usec_per_call=50.00,rejected_calls=0,failed_calls=0",
		"cmdstat_eval:calls=1,usec=40,usec_per_call=40.00,rejected_calls=0,failed_calls=0",
		// Run inside the scripts: already in their usec.
		"cmdstat_lpop:calls=10,usec=100,usec_per_call=10.00,rejected_calls=0,failed_calls=0",
		"cmdstat_hset:calls=10,usec=90,usec_per_call=9.00,rejected_calls=0,failed_calls=0",
		// Sent on their own.
		"cmdstat_blpop:calls=2,usec=7,usec_per_call=3.50,rejected_calls=0,failed_calls=0",
		"cmdstat_ping:calls=3,usec=3,usec_per_call=1.00,rejected_calls=0,failed_calls=0",
		// The measurement's own.
		"cmdstat_info:calls=2,usec=1000,usec_per_call=500.00,rejected_calls=0,failed_calls=0",
		"cmdstat_config|resetstat:calls=1,usec=1000,usec_per_call=1000.00,rejected_calls=0,failed_calls=0",
	}, "\r\n")
	script, other, err := parseCommandUsec(info)
	if err != nil {
		t.Fatal(err)
	}
	if script != 540 || other != 10 {
		t.Fatalf("script %d, other %d usec; want 540 and 10", script, other)
	}
	if _, _, err := parseCommandUsec("cmdstat_evalsha:calls=1,usec=x"); err == nil {
		t.Fatal("a malformed usec parsed without error")
	}
}

func TestQueuesSpreadJobsWithWeights(t *testing.T) {
	c, err := Config{Jobs: 10, Queues: 4}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"bench-0": 1, "bench-1": 2, "bench-2": 3, "bench-3": 4}
	got := c.serverQueues()
	if len(got) != len(want) {
		t.Fatalf("server queues %v; want %v", got, want)
	}
	for q, w := range want {
		if got[q] != w {
			t.Fatalf("server queues %v; want %v", got, want)
		}
	}
	per := map[string]int{}
	for n := range int64(10) {
		per[c.queueOf(n)]++
	}
	if per["bench-0"] != 3 || per["bench-1"] != 3 || per["bench-2"] != 2 || per["bench-3"] != 2 {
		t.Fatalf("jobs per queue %v; want round-robin 3,3,2,2", per)
	}
	one, err := Config{Jobs: 1}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if q := one.queueOf(7); q != DefaultQueue || len(one.serverQueues()) != 1 {
		t.Fatalf("one queue: job goes to %q, server queues %v; want %q alone", q, one.serverQueues(), DefaultQueue)
	}
	if _, err := (Config{Jobs: 1, Queues: -1}).withDefaults(); err == nil {
		t.Fatal("negative queues accepted")
	}
}

func TestScaleMarkdown(t *testing.T) {
	r := &ScaleResult{Rows: []ScaleRow{
		{Group: "queues", Setting: "1000", Jobs: 1_200_000, ProcessedPerSec: 12345.6, ScriptUsecPerJob: 1.234},
		{Group: "latency", Setting: "0", Jobs: 999, ProcessedPerSec: 10, LatencyP50Ms: 1, LatencyP99Ms: 2.5},
	}}
	md := r.Markdown()
	for _, want := range []string{"| queues | 1000 | 1,200,000 | 12,346 | 1.23 |", "| latency | 0 | 999 | 10 |", "| 1.00 | 2.50 | 0 |"} {
		if !strings.Contains(md, want) {
			t.Fatalf("markdown lacks %q:\n%s", want, md)
		}
	}
}
