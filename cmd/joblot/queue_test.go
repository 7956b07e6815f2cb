package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// queueStats returns one queue's stats from `queues --json`.
func queueStats(t *testing.T, store []string, queue string) backend.QueueStats {
	t.Helper()
	var qs []backend.QueueStats
	if err := json.Unmarshal([]byte(mustRun(t, args(store, "queues", "--json")...)), &qs); err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		if q.Name == queue {
			return q
		}
	}
	t.Fatalf("queues --json has no queue %q", queue)
	return backend.QueueStats{}
}

func TestQueuePauseResumeClear(t *testing.T) {
	for _, ts := range testStores(t) {
		t.Run(ts.name, func(t *testing.T) {
			ctx := context.Background()
			b := ts.open(t)
			seed(t, b, []seedSpec{{set: backend.SetScheduled, queue: "mail", kind: "K", n: 2}})
			var jobs []*backend.Job
			for range 7 {
				jobs = append(jobs, &backend.Job{ID: backend.NewJobID(), Kind: "K", Queue: "mail", Args: []byte(`{}`), CreatedAt: time.Now()})
			}
			jobs = append(jobs, &backend.Job{ID: backend.NewJobID(), Kind: "K", Queue: "other", Args: []byte(`{}`), CreatedAt: time.Now()})
			if _, err := b.Enqueue(ctx, jobs); err != nil {
				t.Fatal(err)
			}
			b.Close()
			s := ts.flags

			mustRun(t, args(s, "queue", "pause", "mail")...)
			if q := queueStats(t, s, "mail"); !q.Paused || q.Size != 7 {
				t.Errorf("after pause: %+v, want paused with 7 jobs", q)
			}
			b = ts.open(t)
			if res, err := b.Fetch(ctx, backend.FetchParams{Proc: "p", Queues: []string{"mail"}, Max: 10}); err != nil || len(res.Jobs) != 0 {
				t.Errorf("fetch from a paused queue: %d jobs, %v", len(res.Jobs), err)
			}
			b.Close()
			if out := mustRun(t, args(s, "queue", "resume", "mail")...); !contains(out, "resumed") {
				t.Errorf("resume output %q", out)
			}
			if q := queueStats(t, s, "mail"); q.Paused {
				t.Errorf("after resume: %+v", q)
			}

			res := decode(t, mustRun(t, args(s, "queue", "clear", "mail", "--json")...))
			if num(t, res, "count") != 7 {
				t.Errorf("queue clear: %v, want 7 removed", res)
			}
			if q := queueStats(t, s, "mail"); q.Size != 0 || q.Scheduled != 2 {
				t.Errorf("after clear: %+v, want 0 queued and the 2 scheduled jobs kept", q)
			}
			if q := queueStats(t, s, "other"); q.Size != 1 {
				t.Errorf("clearing mail touched queue other: %+v", q)
			}
			if r := runCmd(t, nil, args(s, "queue", "clear")...); r.code == 0 {
				t.Errorf("queue clear without a queue succeeded")
			}
		})
	}
}
