package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// TestLimitsCommand: `joblot limits` shows each limited queue's limit and
// its groups with the slots held and the jobs waiting, a group (user
// data) escaped. The file store recovers the jobs a closed owner left in
// flight when the command opens it, which releases their slots.
func TestLimitsCommand(t *testing.T) {
	for _, ts := range testStores(t) {
		t.Run(ts.name, func(t *testing.T) {
			ctx := context.Background()
			b := ts.open(t)
			if _, err := b.SetLimits(ctx, backend.SetLimitsParams{Queue: "mail", Limit: backend.QueueLimit{Concurrency: 1, Rate: 10, Per: time.Minute, By: backend.LimitByKey}}); err != nil {
				t.Fatal(err)
			}
			var jobs []*backend.Job
			for _, key := range []string{"acme", "acme", "evil\x1b[31m"} {
				j := &backend.Job{ID: backend.NewJobID(), Kind: "K", Queue: "mail", Args: []byte(`{}`), CreatedAt: time.Now()}
				j.SetLimitKey(key)
				jobs = append(jobs, j)
			}
			jobs = append(jobs, &backend.Job{ID: backend.NewJobID(), Kind: "K", Queue: "free", Args: []byte(`{}`), CreatedAt: time.Now()})
			if _, err := b.Enqueue(ctx, jobs); err != nil {
				t.Fatal(err)
			}
			if res, err := b.Fetch(ctx, backend.FetchParams{Proc: "p", Queues: []string{"mail"}, Max: 10}); err != nil || len(res.Jobs) != 2 {
				t.Fatalf("fetched %d, %v; want 2", len(res.Jobs), err)
			}
			b.Close()

			out := mustRun(t, args(ts.flags, "limits")...)
			if !strings.Contains(out, "1 at once, 10 per 1m0s, by key") || strings.Contains(out, "free") {
				t.Errorf("limits output lacks mail's limit or shows a queue without one:\n%s", out)
			}
			if strings.Contains(out, "\x1b") {
				t.Errorf("limits output holds a raw escape:\n%q", out)
			}
			var views []limitView
			if err := json.Unmarshal([]byte(mustRun(t, args(ts.flags, "limits", "--json")...)), &views); err != nil {
				t.Fatal(err)
			}
			if len(views) != 1 || views[0].Queue != "mail" || views[0].Concurrency != 1 || views[0].Rate != 10 || views[0].PerMs != 60000 || views[0].By != "key" {
				t.Fatalf("limits --json: %+v", views)
			}
			want := []limitGroupView{{Group: "acme", Running: 1, Waiting: 1}, {Group: "evil\x1b[31m", Running: 1}}
			if ts.name == "file" {
				want = []limitGroupView{} // recovered at open: slots released, the waiting job back in its queue
			}
			if got := views[0].Groups; len(got) != len(want) || len(want) > 0 && (got[0] != want[0] || got[1] != want[1]) {
				t.Fatalf("limits --json groups: %+v, want %+v", got, want)
			}
			if ts.name == "redis" && !strings.Contains(out, `evil\x1b[31m`) {
				t.Errorf("limits output lacks the escaped group:\n%s", out)
			}
		})
	}
}
