package main

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/joblot/joblot/backend"
)

// listed is the JSON output of `<set> list`.
type listed struct {
	Jobs []struct {
		ID, Queue, Kind string
		BatchID         string `json:"batch_id"`
		ErrorMessage    string `json:"error_message"`
	} `json:"jobs"`
	Next string `json:"next"`
}

func listJSON(t *testing.T, store []string, set string, extra ...string) listed {
	t.Helper()
	var l listed
	out := mustRun(t, args(store, append([]string{set, "list", "--json"}, extra...)...)...)
	if err := json.Unmarshal([]byte(out), &l); err != nil {
		t.Fatalf("%s list --json: %v\n%s", set, err, out)
	}
	return l
}

// listIDs lists every job of set matching the filters, sorted.
func listIDs(t *testing.T, store []string, set string, filters ...string) []string {
	t.Helper()
	var ids []string
	for _, j := range listJSON(t, store, set, append([]string{"--limit", "0"}, filters...)...).Jobs {
		ids = append(ids, j.ID)
	}
	slices.Sort(ids)
	return ids
}

func sorted(groups ...[]string) []string {
	all := slices.Concat(groups...)
	slices.Sort(all)
	return all
}

func TestJobSetCommands(t *testing.T) {
	for _, ts := range testStores(t) {
		t.Run(ts.name, func(t *testing.T) {
			b := ts.open(t)
			g := seed(t, b, []seedSpec{
				0: {set: backend.SetScheduled, queue: "mail", kind: "Welcome", n: 3},
				1: {set: backend.SetScheduled, queue: "sms", kind: "Remind", n: 2},
				2: {set: backend.SetRetry, queue: "mail", kind: "Welcome", errMsg: "smtp: connection timed out", fp: "fp-smtp", n: 2},
				3: {set: backend.SetDead, queue: "mail", kind: "Welcome", errMsg: "smtp: connection timed out", fp: "fp-smtp", n: 4},
				4: {set: backend.SetDead, queue: "sms", kind: "Remind", errMsg: "invalid phone number", fp: "fp-phone", n: 3},
				5: {set: backend.SetDead, queue: "mail", kind: "Digest", batch: "B-digest", errMsg: "template missing", fp: "fp-tpl", n: 2},
				// Enough jobs of one kind that retrying them spans pages.
				6: {set: backend.SetDead, queue: "bulk", kind: "Bulk", errMsg: "quota exceeded", fp: "fp-quota", n: 260},
			})
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			s := ts.flags

			// Filters return exactly the matching jobs.
			for _, tc := range []struct {
				set     string
				filters []string
				want    []string
			}{
				{"scheduled", nil, sorted(g[0], g[1])},
				{"scheduled", []string{"--queue", "sms"}, sorted(g[1])},
				{"retries", nil, sorted(g[2])},
				{"dead", []string{"--kind", "Welcome"}, sorted(g[3])},
				{"dead", []string{"--queue", "mail"}, sorted(g[3], g[5])},
				{"dead", []string{"--batch", "B-digest"}, sorted(g[5])},
				{"dead", []string{"--error", "phone"}, sorted(g[4])},
				{"dead", []string{"--error-group", "fp-smtp"}, sorted(g[3])},
				{"dead", []string{"--error-group", "fp-smtp", "--queue", "sms"}, nil},
				{"dead", []string{"--kind", "Nope"}, nil},
				{"dead", nil, sorted(g[3], g[4], g[5], g[6])},
			} {
				if got := listIDs(t, s, tc.set, tc.filters...); !slices.Equal(got, tc.want) {
					t.Errorf("%s list %v: %d jobs %v, want %d %v", tc.set, tc.filters, len(got), got, len(tc.want), tc.want)
				}
			}

			// Paging with --limit and --cursor visits every job once.
			var paged []string
			for cursor, pages := "", 0; ; pages++ {
				if pages > 100 {
					t.Fatal("paging does not end")
				}
				l := listJSON(t, s, "dead", "--queue", "mail", "--limit", "2", "--cursor", cursor)
				if len(l.Jobs) > 2 {
					t.Fatalf("--limit 2 printed %d jobs", len(l.Jobs))
				}
				for _, j := range l.Jobs {
					paged = append(paged, j.ID)
				}
				if cursor = l.Next; cursor == "" {
					break
				}
			}
			if slices.Sort(paged); !slices.Equal(paged, sorted(g[3], g[5])) {
				t.Errorf("paged listing %v, want %v", paged, sorted(g[3], g[5]))
			}
			out := mustRun(t, args(s, "dead", "list", "--queue", "mail", "--limit", "2")...)
			for _, want := range []string{"ID", "QUEUE", "DIED", "ERROR", "mail", "--cursor"} {
				if !contains(out, want) {
					t.Errorf("dead list table lacks %q:\n%s", want, out)
				}
			}

			// retry and delete refuse to guess.
			for _, a := range [][]string{{"dead", "retry"}, {"dead", "delete"}, {"retries", "delete", g[2][0], "--all"}, {"dead", "delete", "--all", "--kind", "Bulk"}} {
				r := runCmd(t, nil, args(s, a...)...)
				if r.code == 0 {
					t.Errorf("joblot %v succeeded: %s", a, r.stdout)
				}
			}
			if r := runCmd(t, nil, args(s, "dead", "retry")...); !contains(r.stderr, "--all") {
				t.Errorf("refusal does not say what to give: %q", r.stderr)
			}
			if got := listIDs(t, s, "dead"); len(got) != 269 {
				t.Fatalf("a refused command changed the dead set: %d jobs", len(got))
			}

			// Retry by filter moves exactly the matching jobs to their queue,
			// across pages.
			res := decode(t, mustRun(t, args(s, "dead", "retry", "--kind", "Bulk", "--json")...))
			if num(t, res, "count") != 260 {
				t.Errorf("dead retry --kind Bulk: %v, want count 260", res)
			}
			if got := listIDs(t, s, "dead", "--kind", "Bulk"); len(got) != 0 {
				t.Errorf("%d Bulk jobs still dead after retry", len(got))
			}
			if got := listIDs(t, s, "dead"); !slices.Equal(got, sorted(g[3], g[4], g[5])) {
				t.Errorf("retry touched other dead jobs: %v", got)
			}
			if got := queueSize(t, s, "bulk"); got != 260 {
				t.Errorf("queue bulk holds %d jobs after retry, want 260", got)
			}

			// One job by ID, its queue looked up or given.
			mustRun(t, args(s, "dead", "retry", g[4][0])...)
			mustRun(t, args(s, "dead", "delete", g[4][1], "--queue", "sms")...)
			if got := listIDs(t, s, "dead", "--queue", "sms"); !slices.Equal(got, []string{g[4][2]}) {
				t.Errorf("after retrying and deleting one each, sms dead = %v, want [%s]", got, g[4][2])
			}
			if got := queueSize(t, s, "sms"); got != 1 {
				t.Errorf("queue sms holds %d jobs, want the 1 retried", got)
			}
			if r := runCmd(t, nil, args(s, "dead", "delete", g[4][1])...); r.code == 0 || !contains(r.stderr, "not found") {
				t.Errorf("deleting a deleted job: exit %d, stderr %q", r.code, r.stderr)
			}

			// Delete by filter and --all.
			out = mustRun(t, args(s, "dead", "delete", "--error-group", "fp-smtp")...)
			if !contains(out, "4 dead jobs deleted") {
				t.Errorf("dead delete --error-group: %q", out)
			}
			if got := listIDs(t, s, "dead"); !slices.Equal(got, sorted(g[5], []string{g[4][2]})) {
				t.Errorf("after delete by error group, dead = %v", got)
			}
			mustRun(t, args(s, "scheduled", "retry", "--queue", "sms")...)
			if got := queueSize(t, s, "sms"); got != 3 {
				t.Errorf("queue sms holds %d jobs after running its scheduled jobs now, want 3", got)
			}
			res = decode(t, mustRun(t, args(s, "scheduled", "delete", "--all", "--json")...))
			if num(t, res, "count") != 3 || len(listIDs(t, s, "scheduled")) != 0 {
				t.Errorf("scheduled delete --all: %v; left %v", res, listIDs(t, s, "scheduled"))
			}
			mustRun(t, args(s, "retries", "delete", "--all")...)
			if got := listIDs(t, s, "retries"); len(got) != 0 {
				t.Errorf("retries left after delete --all: %v", got)
			}
		})
	}
}

// queueSize returns a queue's size from `queues --json`.
func queueSize(t *testing.T, store []string, queue string) int64 {
	t.Helper()
	var qs []backend.QueueStats
	if err := json.Unmarshal([]byte(mustRun(t, args(store, "queues", "--json")...)), &qs); err != nil {
		t.Fatal(err)
	}
	for _, q := range qs {
		if q.Name == queue {
			return q.Size
		}
	}
	return 0
}
