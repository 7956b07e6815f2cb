package main

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/rediskeys"
)

// `batch verify` says a healthy batch is fine (exit 0) on both stores; on
// Redis, a batch that lost the record of a death (its bit and counters set
// back behind the CLI's back) is reported with the job's id and queue
// escaped (exit 1), repaired with --repair, and then verifies clean.
func TestBatchVerifyCommand(t *testing.T) {
	for _, ts := range testStores(t) {
		t.Run(ts.name, func(t *testing.T) {
			ctx := context.Background()
			b := ts.open(t)
			now := time.Now()
			id := backend.NewJobID()
			if err := b.CreateBatch(ctx, &backend.BatchSpec{ID: id, CreatedAt: now, CommitDeadline: now.Add(time.Hour),
				Callbacks: map[backend.CallbackEvent]*backend.Job{backend.CallbackDeath: {Kind: "on_death", Queue: "cb"}}}); err != nil {
				t.Fatal(err)
			}
			jobs := []*backend.Job{
				{ID: nasty + "0", Kind: nasty, Queue: nasty, Args: []byte(`{}`), CreatedAt: now},
				{ID: nasty + "1", Kind: nasty, Queue: nasty, Args: []byte(`{}`), CreatedAt: now},
			}
			if err := b.AddToBatch(ctx, &backend.BatchAdd{BatchID: id, Jobs: jobs}); err != nil {
				t.Fatal(err)
			}
			if err := b.CommitBatch(ctx, id); err != nil {
				t.Fatal(err)
			}
			fr, err := b.Fetch(ctx, backend.FetchParams{Proc: "p", Queues: []string{nasty}, Max: 1})
			if err != nil || len(fr.Jobs) != 1 {
				t.Fatalf("Fetch: %v, %d jobs", err, len(fr.Jobs))
			}
			f := fr.Jobs[0]
			j := f.Job.Clone()
			j.Attempt++
			j.ErrorMessage, j.FailedAt, j.DiedAt = nasty, now, now
			if err := b.Complete(ctx, "p", []backend.Result{{Fetched: f, Job: j, Outcome: backend.OutcomeDead, Duration: time.Millisecond}}); err != nil {
				t.Fatal(err)
			}
			b.Close()

			out := mustRun(t, args(ts.flags, "batch", "verify", id)...)
			if !strings.Contains(out, "ok: the batch agrees") {
				t.Fatalf("healthy batch:\n%s", out)
			}
			var clean verifyView
			if err := json.Unmarshal([]byte(mustRun(t, args(ts.flags, "batch", "verify", id, "--json")...)), &clean); err != nil || !clean.Clean || clean.Total != 2 || clean.Found != 2 || len(clean.Problems) != 0 {
				t.Fatalf("healthy batch --json: %+v, %v", clean, err)
			}
			if r := runCmd(t, nil, args(ts.flags, "batch", "verify", "no-such-batch")...); r.code != 1 || !strings.Contains(r.stderr, "not found") {
				t.Fatalf("unknown batch: exit %d, stderr %q", r.code, r.stderr)
			}
			if ts.srv == nil {
				return
			}

			// The death's batch write lost: job back at P, counters back.
			keys, _ := rediskeys.New("")
			for _, cmd := range [][]string{
				// A paged batch (pages of backend.BatchPageSize jobs): the job is on page 0.
				{"BITFIELD", keys.BatchKeys(id)[1] + ":0", "SET", "u2", "#" + strconv.FormatInt(f.Job.BatchIndex, 10), "0"},
				{"HINCRBY", keys.BMeta(id), "dead", "-1"},
				{"HINCRBY", keys.BMeta(id), "pending", "1"},
			} {
				if _, err := ts.srv.Do(cmd...); err != nil {
					t.Fatal(err)
				}
			}
			r := runCmd(t, nil, args(ts.flags, "batch", "verify", id)...)
			checkTerminalSafe(t, "batch verify", r.stdout, true)
			if r.code != 1 || !strings.Contains(r.stdout, "death_unrecorded") || !strings.Contains(r.stdout, nastyShown) || !strings.Contains(r.stdout, "not repaired") {
				t.Fatalf("damaged batch: exit %d\n%s\nstderr: %s", r.code, r.stdout, r.stderr)
			}
			r = runCmd(t, nil, args(ts.flags, "batch", "verify", id, "--json")...)
			checkTerminalSafe(t, "batch verify --json", r.stdout, false)
			var bad verifyView
			if err := json.Unmarshal([]byte(r.stdout), &bad); err != nil || r.code != 1 || bad.ProblemCount != 1 ||
				bad.Problems[0].Kind != "death_unrecorded" || bad.Problems[0].JobID != strings.ToValidUTF8(f.ID, "\uFFFD") || bad.Problems[0].Set != "dead" {
				t.Fatalf("damaged batch --json: exit %d, %v\n%s", r.code, err, r.stdout)
			}
			if out := mustRun(t, args(ts.flags, "batch", "verify", id, "--repair")...); !strings.Contains(out, "repaired") {
				t.Fatalf("--repair:\n%s", out)
			}
			if out := mustRun(t, args(ts.flags, "batch", "verify", id)...); !strings.Contains(out, "ok: the batch agrees") {
				t.Fatalf("after the repair:\n%s", out)
			}
		})
	}
}
