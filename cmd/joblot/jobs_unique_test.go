package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// A unique job's lock key and expiry show in listings, as JSON and in the
// table (escaped like every stored string).
func TestListShowsUniqueKey(t *testing.T) {
	for _, ts := range testStores(t) {
		t.Run(ts.name, func(t *testing.T) {
			b := ts.open(t)
			until := time.Now().Add(48 * time.Hour).Truncate(time.Millisecond)
			u := &backend.Job{ID: backend.NewJobID(), Kind: "Sync", Queue: "mail", CreatedAt: time.Now(), RunAt: time.Now().Add(24 * time.Hour)}
			u.SetUnique("lock-"+nasty, until)
			plain := &backend.Job{ID: backend.NewJobID(), Kind: "Sync", Queue: "mail", CreatedAt: time.Now(), RunAt: time.Now().Add(24 * time.Hour)}
			if _, err := b.Enqueue(context.Background(), []*backend.Job{u, plain}); err != nil {
				t.Fatal(err)
			}
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			var l struct {
				Jobs []struct {
					ID          string     `json:"id"`
					UniqueKey   string     `json:"unique_key"`
					UniqueUntil *time.Time `json:"unique_until"`
				} `json:"jobs"`
			}
			out := mustRun(t, args(ts.flags, "scheduled", "list", "--json")...)
			if err := json.Unmarshal([]byte(out), &l); err != nil {
				t.Fatalf("scheduled list --json: %v\n%s", err, out)
			}
			seen := 0
			for _, j := range l.Jobs {
				switch j.ID {
				case u.ID:
					seen++
					// JSON output replaces invalid UTF-8: compare the start.
					if !strings.HasPrefix(j.UniqueKey, "lock-n") || j.UniqueUntil == nil || !j.UniqueUntil.Equal(until) {
						t.Errorf("unique job listed with key %q until %v; want lock-%q until %v", j.UniqueKey, j.UniqueUntil, nasty, until)
					}
				case plain.ID:
					seen++
					if j.UniqueKey != "" || j.UniqueUntil != nil {
						t.Errorf("plain job listed with a lock %q %v", j.UniqueKey, j.UniqueUntil)
					}
				}
			}
			if seen != 2 {
				t.Fatalf("listed %d of the 2 jobs:\n%s", seen, out)
			}
			table := mustRun(t, args(ts.flags, "scheduled", "list")...)
			if !contains(table, "UNIQUE") || !contains(table, "lock-"+nastyShown) {
				t.Errorf("table lacks the UNIQUE column or the escaped key:\n%s", table)
			}
			checkTerminalSafe(t, "scheduled list", table, false)
		})
	}
}
