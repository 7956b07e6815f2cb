package main

import (
	"encoding/json"
	"testing"
)

func TestStatsQueuesAndBatchCommands(t *testing.T) {
	for name, store := range stores(t) {
		t.Run(name, func(t *testing.T) {
			mustRun(t, args(store, "bench", "--jobs", "300", "--batch-size", "100", "--fail-rate", "0.2", "--retries", "0")...)

			st := decode(t, mustRun(t, args(store, "stats", "--json")...))
			if got := num(t, st, "processed") + num(t, st, "failed"); got < 300 {
				t.Errorf("stats: processed + failed = %v, want >= 300", got)
			}
			if out := mustRun(t, args(store, "stats")...); !contains(out, "processed") {
				t.Errorf("stats output:\n%s", out)
			}
			var queues []map[string]any
			if err := json.Unmarshal([]byte(mustRun(t, args(store, "queues", "--json")...)), &queues); err != nil || len(queues) == 0 {
				t.Fatalf("queues --json: %v %v", err, queues)
			}
			if out := mustRun(t, args(store, "queues")...); !contains(out, "QUEUE") || !contains(out, "bench") {
				t.Errorf("queues output:\n%s", out)
			}

			var list []map[string]any
			if err := json.Unmarshal([]byte(mustRun(t, args(store, "batch", "list", "--json")...)), &list); err != nil {
				t.Fatal(err)
			}
			if len(list) != 3 {
				t.Fatalf("batch list: %d batches, want 3", len(list))
			}
			if out := mustRun(t, args(store, "batch", "list", "--limit", "2")...); !contains(out, "STATE") {
				t.Errorf("batch list output:\n%s", out)
			}
			id, _ := list[0]["id"].(string)
			show := decode(t, mustRun(t, args(store, "batch", "show", id, "--json")...))
			if show["id"] != id || num(t, show, "total") != 100 {
				t.Errorf("batch show %s: %v", id, show)
			}
			out := mustRun(t, args(store, "batch", "show", id)...)
			for _, want := range []string{id, "state", "error groups", "fails on purpose"} {
				if !contains(out, want) {
					t.Errorf("batch show output lacks %q:\n%s", want, out)
				}
			}

			if res := decode(t, mustRun(t, args(store, "batch", "cancel", id, "--json")...)); res["batch_id"] != id || res["action"] != "cancel" {
				t.Errorf("batch cancel --json: %v", res)
			}
			if at, _ := decode(t, mustRun(t, args(store, "batch", "show", id, "--json")...))["cancelled_at"].(string); at == "" || at[:4] == "0001" {
				t.Errorf("batch show after cancel: cancelled_at = %q", at)
			}
			if out := mustRun(t, args(store, "batch", "delete", id)...); !contains(out, "batch "+id+" deleted") {
				t.Errorf("batch delete output: %q", out)
			}
			if r := runCmd(t, nil, args(store, "batch", "show", id)...); r.code == 0 {
				t.Errorf("batch show of a deleted batch succeeded:\n%s", r.stdout)
			}
			if r := runCmd(t, nil, args(store, "batch", "show")...); r.code == 0 {
				t.Errorf("batch show without an ID succeeded")
			}
		})
	}
}
