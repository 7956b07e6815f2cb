package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// `periodic list` shows what the leader wrote and the last instant, computes
// the next one, escapes stored text and keeps the JSON contract.
func TestPeriodicList(t *testing.T) {
	for _, ts := range testStores(t) {
		t.Run(ts.name, func(t *testing.T) {
			ctx := context.Background()
			b := ts.open(t)
			if out := mustRun(t, args(ts.flags, "periodic", "list")...); !strings.Contains(out, "(no periodic jobs)") {
				t.Errorf("empty store: %q", out)
			}
			last := time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC)
			defs := []backend.PeriodicDef{
				{Name: "report", Schedule: "@every 1h", Queue: "cron", Kind: "report", Missed: "run_once"},
				{Name: nasty, Schedule: "bad " + nasty, Queue: nasty, Kind: nasty, Missed: nasty},
			}
			if err := b.SetPeriodic(ctx, defs); err != nil {
				t.Fatal(err)
			}
			if _, err := b.FirePeriodic(ctx, backend.FirePeriodicParams{Name: "report", Queue: "cron", Instant: last}); err != nil {
				t.Fatal(err)
			}
			b.Close()

			out := mustRun(t, args(ts.flags, "periodic", "list")...)
			checkTerminalSafe(t, "periodic list", out, true)
			if !strings.Contains(out, nastyShown) || !strings.Contains(out, "@every 1h") || !strings.Contains(out, fmtTime(last)) {
				t.Errorf("periodic list:\n%s", out)
			}
			js := mustRun(t, args(ts.flags, "periodic", "list", "--json")...)
			if _, err := normaliseJSON(js, time.Now(), false); err != nil {
				t.Fatalf("--json breaks the contract: %v\n%s", err, js)
			}
			var views []periodicView
			if err := json.Unmarshal([]byte(js), &views); err != nil {
				t.Fatal(err)
			}
			if len(views) != 2 {
				t.Fatalf("--json: %d jobs, want 2:\n%s", len(views), js)
			}
			var r periodicView
			for _, v := range views {
				if v.Name == "report" {
					r = v
				}
			}
			now := time.Now()
			if r.Queue != "cron" || r.Missed != "run_once" || r.LastAt == nil || !r.LastAt.Equal(last) || r.NextAt == nil ||
				!r.NextAt.After(now) || r.NextAt.Sub(now) > time.Hour || r.NextAt.Truncate(time.Hour) != *r.NextAt {
				t.Errorf("report: %+v", r)
			}
			for _, v := range views {
				if v.Name == nasty && (v.NextAt != nil || v.ScheduleError == "") {
					t.Errorf("a bad stored schedule lists no error: %+v", v)
				}
			}
		})
	}
}
