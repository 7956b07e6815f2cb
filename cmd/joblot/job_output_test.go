package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// `job show` prints what a job recorded — a running job's progress, a
// succeeded (deleted) job's output — escaped and bounded, and --json
// carries it.
func TestJobShowOutput(t *testing.T) {
	for _, ts := range testStores(t) {
		t.Run(ts.name, func(t *testing.T) {
			b := ts.open(t)
			ctx := context.Background()
			now := time.Now()
			jobs := []*backend.Job{
				{ID: backend.NewJobID(), Kind: "k", Queue: "q", Args: []byte(`{}`), CreatedAt: now},
				{ID: backend.NewJobID(), Kind: "k", Queue: "q", Args: []byte(`{}`), CreatedAt: now},
			}
			// A live process holds the running job (the file store's
			// owner recovers it when the CLI opens the file: queued).
			if err := b.Heartbeat(ctx, backend.ProcessInfo{ID: "p", Queues: []string{"q"}, StartedAt: now}, time.Hour); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Enqueue(ctx, jobs); err != nil {
				t.Fatal(err)
			}
			res, err := b.Fetch(ctx, backend.FetchParams{Proc: "p", Queues: []string{"q"}, Max: 2})
			fs := res.Jobs
			if err != nil || len(fs) != 2 {
				t.Fatalf("fetch: %d, %v", len(fs), err)
			}
			store := b.(backend.OutputStore)
			if _, err := store.SetProgress(ctx, backend.SetProgressParams{Queue: "q", ID: fs[1].ID, Progress: 42, Note: nasty, Now: now}); err != nil {
				t.Fatal(err)
			}
			// JSON keeps C1 and bidi characters raw: the CLI escapes them.
			long, _ := json.Marshal(nasty + strings.Repeat("x", 5000))
			r := backend.Result{Fetched: fs[0], Outcome: backend.OutcomeSucceeded, Output: &backend.JobOutput{
				Queue: "q", ID: fs[0].ID, Output: long, Succeeded: true, Progress: 100, Note: nasty, HasProgress: true, UpdatedAt: now,
			}}
			if err := b.Complete(ctx, "p", []backend.Result{r}); err != nil {
				t.Fatal(err)
			}
			b.Close()

			done := mustRun(t, args(ts.flags, "job", "show", fs[0].ID, "--queue", "q")...)
			checkTerminalSafe(t, "job show (succeeded)", done, true)
			if !strings.Contains(done, "succeeded") || !strings.Contains(done, "100% "+nastyShown) || !strings.Contains(done, "output") {
				t.Errorf("job show of a succeeded job:\n%s", done)
			}
			running := mustRun(t, args(ts.flags, "job", "show", fs[1].ID, "--queue", "q")...)
			checkTerminalSafe(t, "job show (running)", running, true)
			if !strings.Contains(running, "42% "+nastyShown) {
				t.Errorf("job show of a running job:\n%s", running)
			}
			js := mustRun(t, args(ts.flags, "job", "show", fs[1].ID, "--queue", "q", "--json")...)
			checkTerminalSafe(t, "job show --json", js, false)
			out, _ := decode(t, js)["output"].(map[string]any)
			if out == nil || out["progress"] != float64(42) || out["note"] != strings.ToValidUTF8(nasty, "\uFFFD") {
				t.Errorf("job show --json: %s", js)
			}
			st := decode(t, mustRun(t, args(ts.flags, "stats", "--json")...))
			if st["output_records"] != float64(2) {
				t.Errorf("stats --json: output_records %v, want 2", st["output_records"])
			}
		})
	}
}
