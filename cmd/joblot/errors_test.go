package main

import (
	"context"
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// failOdd records one dead job on a queue whose name and fingerprint a
// shell would split or act on.
func failOdd(t *testing.T, b backend.Backend) string {
	t.Helper()
	ctx := context.Background()
	j := &backend.Job{ID: "odd-1", Queue: "odd queue", Kind: "Ping", Args: []byte(`{}`), CreatedAt: time.Now()}
	if _, err := b.Enqueue(ctx, []*backend.Job{j}); err != nil {
		t.Fatal(err)
	}
	fr, err := b.Fetch(ctx, backend.FetchParams{Proc: "odd", Queues: []string{j.Queue}, Max: 1})
	fs := fr.Jobs
	if err != nil || len(fs) != 1 {
		t.Fatalf("fetch: %v, %d jobs", err, len(fs))
	}
	d := fs[0].Job.Clone()
	d.ErrorClass, d.ErrorMessage, d.DiedAt = "*app.Err", "it's odd", time.Now()
	if err := b.Complete(ctx, "odd", []backend.Result{{Fetched: fs[0], Job: d, Outcome: backend.OutcomeDead}}); err != nil {
		t.Fatal(err)
	}
	return d.Fingerprint() // the fallback: "Ping|*app.Err"
}

// `joblot errors` lists the groups of every queue, most frequent first,
// with the commands that list each group's jobs; those commands work.
func TestErrorsListsGroupsAndTheirJobs(t *testing.T) {
	for _, ts := range testStores(t) {
		t.Run(ts.name, func(t *testing.T) {
			b := ts.open(t)
			seedGolden(t, b, time.Now().UTC().Truncate(time.Second))
			fp := failOdd(t, b)
			b.Close()

			out := mustRun(t, args(ts.flags, "errors")...)
			lines := strings.Split(out, "\n")
			if f := strings.Fields(lines[1]); len(f) < 4 || f[0] != "1" || f[1] != "sms" || f[2] != "2" || f[3] != "Text" {
				t.Fatalf("first row is not sms's group counted twice:\n%s", out)
			}
			for _, want := range []string{
				"joblot dead list --queue sms --error-group fp-carrier",
				"joblot retries list --queue mail --error-group fp-smtp:",
				`joblot dead list --queue 'odd queue' --error-group 'Ping|*app.Err'`,
			} {
				if !strings.Contains(out, want) {
					t.Errorf("errors does not print %q:\n%s", want, out)
				}
			}
			// The printed command lists the group's job.
			if got := mustRun(t, args(ts.flags, "dead", "list", "--queue", "odd queue", "--error-group", fp)...); !strings.Contains(got, "odd-1") {
				t.Errorf("dead list --error-group %q does not list odd-1:\n%s", fp, got)
			}

			if got := mustRun(t, args(ts.flags, "errors", "--queue", "sms")...); strings.Contains(got, "mail") || !strings.Contains(got, "fp-carrier") {
				t.Errorf("errors --queue sms:\n%s", got)
			}
			if got := mustRun(t, args(ts.flags, "errors", "--kind", "Send")...); strings.Contains(got, "sms") || !strings.Contains(got, "fp-smtp") {
				t.Errorf("errors --kind Send:\n%s", got)
			}
			if got := mustRun(t, args(ts.flags, "errors", "--since", "2h", "--limit", "1")...); !strings.Contains(got, "fp-carrier") || strings.Contains(got, "fp-smtp") {
				t.Errorf("errors --since 2h --limit 1:\n%s", got)
			}
			if r := runCmd(t, nil, args(ts.flags, "errors", "--since", "-1h")...); r.code == 0 || !strings.Contains(r.stderr, "--since") {
				t.Errorf("errors --since -1h: exit %d, stderr %q", r.code, r.stderr)
			}

			var v struct {
				Groups []struct {
					Queue, Fingerprint, Hint string
					Count                    int64
					Other                    bool
				}
			}
			if err := json.Unmarshal([]byte(mustRun(t, args(ts.flags, "errors", "--json")...)), &v); err != nil {
				t.Fatal(err)
			}
			if len(v.Groups) != 4 || v.Groups[0].Fingerprint != "fp-carrier" || v.Groups[0].Count != 2 {
				t.Fatalf("errors --json = %+v", v.Groups)
			}
			for _, g := range v.Groups {
				if !strings.Contains(g.Hint, "--error-group "+shellQuote(g.Fingerprint)) {
					t.Errorf("group %s/%s hint %q", g.Queue, g.Fingerprint, g.Hint)
				}
			}
		})
	}
}

// shellQuote's words read back whole in a POSIX shell.
func TestShellQuoteRoundTrips(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	for _, s := range []string{"plain", "2:0123abcd", "odd queue", "Ping|*app.Err", "it's", "$(echo no)", "a'b'c", "`x`", "; rm x", ""} {
		out, err := exec.Command(sh, "-c", "printf '%s' "+shellQuote(s)).Output()
		if err != nil {
			t.Fatalf("sh: %v", err)
		}
		if string(out) != s {
			t.Errorf("shellQuote(%q) = %s reads back as %q", s, shellQuote(s), out)
		}
	}
}
