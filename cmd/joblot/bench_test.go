package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/benchrun"
	"github.com/joblot/joblot/internal/redistest"
)

var benchFields = []string{
	"jobs", "enqueue_per_sec", "process_per_sec", "latency_p50_ms", "latency_p99_ms",
	"succeeded", "dead", "lost", "used_memory_before", "used_memory_enqueued", "used_memory_after",
}

var batchFields = []string{"batches", "callbacks_complete", "callbacks_success", "callbacks_death", "batch_bookkeeping_bytes"}

func TestBenchJSONAccountsForEveryJob(t *testing.T) {
	for name, store := range stores(t) {
		t.Run(name, func(t *testing.T) {
			m := decode(t, mustRun(t, args(store, "bench", "--jobs", "2000", "--fail-rate", "0.1", "--retries", "0", "--json")...))
			for _, f := range benchFields {
				num(t, m, f)
			}
			if _, ok := m["batches"]; ok {
				t.Errorf("batch fields present in a run without batches: %v", m)
			}
			failing := float64(benchrun.CountFailing(2000, 0.1))
			if got := num(t, m, "lost"); got != 0 {
				t.Errorf("lost = %v, want 0", got)
			}
			if got := num(t, m, "dead"); got != failing {
				t.Errorf("dead = %v, want %v (--retries 0 means no retries)", got, failing)
			}
			if got := num(t, m, "succeeded"); got != 2000-failing {
				t.Errorf("succeeded = %v, want %v", got, 2000-failing)
			}
			if num(t, m, "used_memory_enqueued") <= num(t, m, "used_memory_before") {
				t.Errorf("store did not grow with 2000 queued jobs: %v", m)
			}
			if num(t, m, "process_per_sec") <= 0 || num(t, m, "enqueue_per_sec") <= 0 {
				t.Errorf("rates not positive: %v", m)
			}
		})
	}
}

func TestBenchBatchCallbacks(t *testing.T) {
	for name, store := range stores(t) {
		t.Run(name, func(t *testing.T) {
			m := decode(t, mustRun(t, args(store, "bench", "--jobs", "2000", "--batch-size", "500", "--json")...))
			for _, f := range append(benchFields, batchFields...) {
				num(t, m, f)
			}
			want := map[string]float64{"batches": 4, "callbacks_complete": 4, "callbacks_success": 4, "callbacks_death": 0, "lost": 0, "succeeded": 2000}
			for k, v := range want {
				if got := num(t, m, k); got != v {
					t.Errorf("%s = %v, want %v", k, got, v)
				}
			}
			if name == "redis" && num(t, m, "batch_bookkeeping_bytes") <= 0 {
				t.Errorf("batch_bookkeeping_bytes = 0 on Redis, where the batch keys are left in place")
			}

			m = decode(t, mustRun(t, args(store, "bench", "--jobs", "2000", "--batch-size", "500", "--fail-rate", "1", "--retries", "0", "--json")...))
			want = map[string]float64{"batches": 4, "callbacks_complete": 4, "callbacks_success": 0, "callbacks_death": 4, "lost": 0, "dead": 2000, "succeeded": 0}
			for k, v := range want {
				if got := num(t, m, k); got != v {
					t.Errorf("fail-rate 1: %s = %v, want %v", k, got, v)
				}
			}
		})
	}
}

// --error-shapes draws the failures from that many messages, each its own
// error group: a batch keeps MaxErrorGroups of them, and its groups' counts
// plus other are its failures.
func TestBenchErrorShapes(t *testing.T) {
	for name, store := range stores(t) {
		t.Run(name, func(t *testing.T) {
			m := decode(t, mustRun(t, args(store, "bench", "--jobs", "1000", "--batch-size", "1000", "--fail-rate", "1", "--retries", "0", "--error-shapes", "200", "--json")...))
			if num(t, m, "dead") != 1000 || num(t, m, "lost") != 0 {
				t.Fatalf("bench: %v", m)
			}
			var list []batchView
			if err := json.Unmarshal([]byte(mustRun(t, args(store, "batch", "list", "--json")...)), &list); err != nil || len(list) != 1 {
				t.Fatalf("batch list: %v, %v", list, err)
			}
			st := list[0]
			sum := st.OtherErrors
			for _, g := range st.ErrorGroups {
				sum += g.Count
			}
			if len(st.ErrorGroups) != backend.MaxErrorGroups || st.OtherErrors == 0 || sum != 1000 {
				t.Errorf("%d groups, other %d, sum %d; want %d groups and 1000 failures in all", len(st.ErrorGroups), st.OtherErrors, sum, backend.MaxErrorGroups)
			}
			if r := runCmd(t, nil, args(store, "bench", "--jobs", "10", "--error-shapes", "-1")...); r.code == 0 || !contains(r.stderr, "--error-shapes") {
				t.Errorf("--error-shapes -1: exit %d, stderr %q", r.code, r.stderr)
			}
		})
	}
}

func TestBenchStopWhenRetrying(t *testing.T) {
	for name, store := range stores(t) {
		t.Run(name, func(t *testing.T) {
			m := decode(t, mustRun(t, args(store, "bench", "--jobs", "1000", "--fail-rate", "0.3", "--stop-when-retrying", "--cleanup", "--json")...))
			failing := float64(benchrun.CountFailing(1000, 0.3))
			if got := num(t, m, "retrying"); got != failing {
				t.Errorf("retrying = %v, want %v", got, failing)
			}
			if got := num(t, m, "lost"); got != 0 {
				t.Errorf("lost = %v, want 0", got)
			}
			// --cleanup removed the retrying jobs: the queue is free for
			// the next run, which would otherwise refuse to start.
			decode(t, mustRun(t, args(store, "bench", "--jobs", "100", "--json")...))
		})
	}
}

func TestBenchRefusesLeftoverJobs(t *testing.T) {
	store := stores(t)["redis"]
	dir := t.TempDir()
	mustRun(t, args(store, "bench", "enqueue", "--jobs", "10", "--ledger", dir)...)
	r := runCmd(t, nil, args(store, "bench", "--jobs", "10")...)
	if r.code == 0 || !contains(r.stderr, "already holds 10 jobs") {
		t.Fatalf("bench on a queue with leftovers: exit %d, stderr %q; want a clear refusal", r.code, r.stderr)
	}
}

func TestBenchRejectsBadInput(t *testing.T) {
	store := stores(t)["redis"]
	for _, bad := range [][]string{
		{"--fail-rate", "1.5"},
		{"--retries", "-1"},
		{"--jobs", "0"},
		{"--batch-size", "-3"},
	} {
		r := runCmd(t, nil, args(store, append([]string{"bench"}, bad...)...)...)
		if r.code == 0 || r.stderr == "" {
			t.Errorf("bench %v: exit %d, stderr %q; want an error", bad, r.code, r.stderr)
		}
	}
}

func TestBenchLatencyAndIdle(t *testing.T) {
	store := stores(t)["redis"]
	m := decode(t, mustRun(t, args(store, "bench", "latency", "--rate", "2000", "--duration", "1s", "--json")...))
	for _, f := range []string{"offered_per_sec", "achieved_per_sec", "latency_p50_ms", "latency_p99_ms", "latency_p999_ms"} {
		num(t, m, f)
	}
	if offered, started := num(t, m, "offered"), num(t, m, "started"); offered < 1900 || started < offered {
		t.Errorf("offered %v, started %v: want about 2000 offered, all started", offered, started)
	}

	m = decode(t, mustRun(t, args(store, "bench", "idle", "--duration", "1s", "--json")...))
	if num(t, m, "redis_calls_per_sec") <= 0 {
		t.Errorf("an idle server makes no Redis calls at all? %v", m)
	}
	if cmds, _ := m["commands"].([]any); len(cmds) == 0 {
		t.Errorf("no per-command breakdown: %v", m)
	}

	r := runCmd(t, nil, "bench", "idle", "--db", t.TempDir()+"/x.db")
	if r.code == 0 {
		t.Errorf("bench idle on the embedded store should refuse: it measures Redis calls")
	}
}

// With --unique every job holds a lock while queued (so the store grows
// more than without) and every one still runs: all distinct, none skipped.
func TestBenchUnique(t *testing.T) {
	for name, store := range stores(t) {
		t.Run(name, func(t *testing.T) {
			plain := decode(t, mustRun(t, args(store, "bench", "--jobs", "2000", "--json")...))
			m := decode(t, mustRun(t, args(store, "bench", "--jobs", "2000", "--unique", "--json")...))
			if num(t, m, "succeeded") != 2000 || num(t, m, "lost") != 0 {
				t.Errorf("--unique: %v; want 2000 succeeded, none lost", m)
			}
			grew := func(m map[string]any) float64 {
				return num(t, m, "used_memory_enqueued") - num(t, m, "used_memory_before")
			}
			if name == "redis" && grew(m) <= grew(plain) {
				t.Errorf("2000 queued unique jobs took %v B, plain ones %v B: the locks cost nothing?", grew(m), grew(plain))
			}
		})
	}
}

func TestBenchQueuesSpreadsJobs(t *testing.T) {
	for name, store := range stores(t) {
		t.Run(name, func(t *testing.T) {
			m := decode(t, mustRun(t, args(store, "bench", "--jobs", "1000", "--queues", "7", "--json")...))
			if num(t, m, "succeeded") != 1000 || num(t, m, "lost") != 0 {
				t.Fatalf("bench over 7 queues: %v; want 1000 succeeded, 0 lost", m)
			}
		})
	}
}

func TestBenchScaleRefusesARedisHoldingKeys(t *testing.T) {
	srv := redistest.Start(t)
	if _, err := srv.Do("SET", "precious", "1"); err != nil {
		t.Fatal(err)
	}
	r := runCmd(t, nil, "bench", "scale", "--quick", "--redis", srv.URL)
	if r.code == 0 || !contains(r.stderr, "--flush") {
		t.Fatalf("bench scale on a Redis with keys: exit %d, stderr %q; want a refusal naming --flush", r.code, r.stderr)
	}
	if v, err := srv.Do("GET", "precious"); err != nil || v != "1" {
		t.Fatalf("the key was touched: %q, %v", v, err)
	}
}

// TestBenchScriptTimes: --script-times lists the scripts a run used, by
// name, with their calls and time per job; the embedded store refuses it.
func TestBenchScriptTimes(t *testing.T) {
	all := stores(t)
	out := mustRun(t, args(all["redis"], "bench", "--jobs", "500", "--batch-size", "100", "--script-times", "--json")...)
	var v struct {
		Scripts []struct {
			Script     string  `json:"script"`
			Calls      int64   `json:"calls"`
			MicrosPJob float64 `json:"usec_per_job"`
		} `json:"scripts"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, s := range v.Scripts {
		if s.Calls <= 0 || s.MicrosPJob <= 0 || strings.HasPrefix(s.Script, "unknown") {
			t.Errorf("script entry %+v", s)
		}
		seen[s.Script] = true
	}
	for _, name := range []string{"fetch", "complete", "batch_add", "batch_ack"} {
		if !seen[name] {
			t.Errorf("no time for %s in %+v", name, v.Scripts)
		}
	}
	if r := runCmd(t, nil, args(all["file"], "bench", "--jobs", "10", "--script-times")...); r.code == 0 || !strings.Contains(r.stderr, "needs Redis") {
		t.Errorf("embedded store: exit %d, stderr %q; want a refusal", r.code, r.stderr)
	}
}
