package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/joblot/joblot/backend"
)

// nasty is stored text a terminal would act on: an erase-display sequence,
// a newline and a tab that would forge table rows and columns, a C1 CSI
// both as a raw byte (invalid UTF-8) and as a rune, a bidi override, and a
// bare invalid byte.
const nasty = "n\x1b[2J\nLINE2\tT\x9b\u009b\xff\u202eZ"

// nastyShown is how every table shows the start of nasty, escaped.
const nastyShown = `n\x1b[2J`

// checkTerminalSafe fails t if out holds anything a terminal acts on, or
// a line that nasty's newline started, or (bounded) a line longer than
// any table's.
func checkTerminalSafe(t *testing.T, what, out string, bounded bool) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Errorf("%s: output is not valid UTF-8:\n%q", what, out)
	}
	for i := 0; i < len(out); i++ {
		if c := out[i]; (c < 0x20 && c != '\n') || c == 0x7f {
			t.Errorf("%s: raw control byte %#x at %d:\n%q", what, c, i, out)
			break
		}
	}
	for _, r := range out {
		if (r >= 0x80 && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) {
			t.Errorf("%s: raw %U in output:\n%q", what, r, out)
			break
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "LINE2") {
			t.Errorf("%s: stored text started a line of its own:\n%s", what, out)
		}
		if n := utf8.RuneCountInString(line); bounded && n > 1500 {
			t.Errorf("%s: a line of %d runes: stored text is not bounded", what, n)
		}
	}
}

// seedNasty stores nasty as every piece of text the CLI prints: queue
// names, kinds, job and batch IDs, a batch's description and callbacks,
// error messages (and so error groups), a process's ID, host and queues.
func seedNasty(t *testing.T, b backend.Backend) (batchID string) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	long := nasty + strings.Repeat("x", 5000)
	batchID = backend.NewJobID()
	if err := b.CreateBatch(ctx, &backend.BatchSpec{
		ID: batchID, Description: long, CreatedAt: now, CommitDeadline: now.Add(time.Hour),
		Callbacks: map[backend.CallbackEvent]*backend.Job{backend.CallbackComplete: {Kind: nasty, Queue: nasty}},
	}); err != nil {
		t.Fatal(err)
	}
	var jobs []*backend.Job
	for i := 0; i < 3; i++ {
		jobs = append(jobs, &backend.Job{ID: backend.NewJobID(), Kind: nasty, Queue: nasty, Args: []byte(`{}`), CreatedAt: now})
	}
	if err := b.AddToBatch(ctx, &backend.BatchAdd{BatchID: batchID, Jobs: jobs}); err != nil {
		t.Fatal(err)
	}
	// One job scheduled, one for retry, the others dead; all in the
	// queue named nasty with the kind nasty.
	sched := &backend.Job{ID: nasty, Kind: nasty, Queue: nasty, Args: []byte(`{}`), CreatedAt: now, RunAt: now.Add(time.Hour), Meta: map[string]string{nasty: long}}
	if _, err := b.Enqueue(ctx, []*backend.Job{sched}); err != nil {
		t.Fatal(err)
	}
	var results []backend.Result
	for len(results) < len(jobs) {
		fr, err := b.Fetch(ctx, backend.FetchParams{Proc: "seeder", Queues: []string{nasty}, Max: 10})
		fetched := fr.Jobs
		if err != nil {
			t.Fatal(err)
		}
		if len(fetched) == 0 {
			t.Fatalf("fetched %d of the %d jobs of queue nasty", len(results), len(jobs))
		}
		for _, f := range fetched {
			j := f.Job.Clone()
			j.Attempt++
			j.ErrorClass, j.ErrorMessage, j.ErrorFingerprint, j.FailedAt = nasty, long, nasty, now
			r := backend.Result{Fetched: f, Job: j, Duration: time.Millisecond, Outcome: backend.OutcomeDead}
			j.DiedAt = now
			if len(results) == 0 {
				r.Outcome, r.RetryAt, j.DiedAt = backend.OutcomeRetry, now.Add(time.Hour), time.Time{}
			}
			results = append(results, r)
		}
	}
	if err := b.Complete(ctx, "seeder", results); err != nil {
		t.Fatal(err)
	}
	if err := b.Heartbeat(ctx, backend.ProcessInfo{ID: nasty, Hostname: nasty, PID: 1, Queues: []string{nasty, "mail"}, Concurrency: 1, StartedAt: now}, time.Hour); err != nil {
		t.Fatal(err)
	}
	return batchID
}

// Every human-readable output of stored text escapes it and bounds it;
// JSON output carries it escaped the JSON way and decodes to it.
func TestStoredTextIsEscapedOnTheTerminal(t *testing.T) {
	for _, ts := range testStores(t) {
		t.Run(ts.name, func(t *testing.T) {
			b := ts.open(t)
			batchID := seedNasty(t, b)
			b.Close()

			for _, c := range []struct {
				args  []string
				shown bool // the escaped nasty text must show
			}{
				{[]string{"stats"}, ts.srv != nil}, // the file store's processes live in its owner's memory
				{[]string{"queues"}, true},
				{[]string{"batch", "list"}, true},
				{[]string{"batch", "show", batchID}, true},
				{[]string{"dead", "list"}, true},
				{[]string{"retries", "list"}, true},
				{[]string{"scheduled", "list"}, true},
				{[]string{"errors"}, true},
				{[]string{"memory", "--top", "50"}, ts.srv != nil},
				{[]string{"cleanup", "--legacy-sidekiq-failinfo"}, false}, // its key patterns admit no such text
				{[]string{"queue", "pause", nasty}, true},
				{[]string{"batch", "show", nasty}, false},
				{[]string{"job", "show", nasty, "--queue", nasty}, true},
				{[]string{"job", "cancel", "no-such-job", "--queue", nasty}, false}, // an error, on stderr
			} {
				if c.args[0] == "cleanup" && ts.srv == nil {
					continue
				}
				r := runCmd(t, nil, args(ts.flags, c.args...)...)
				what := fmt.Sprintf("%q", c.args)
				checkTerminalSafe(t, what+" (stdout)", r.stdout, true)
				checkTerminalSafe(t, what+" (stderr)", r.stderr, true)
				if c.shown && !strings.Contains(r.stdout, nastyShown) {
					t.Errorf("%s does not show the stored text escaped (%s):\nstdout:\n%s\nstderr:\n%s", what, nastyShown, r.stdout, r.stderr)
				}
			}

			// JSON: no raw control, C1 or bidi character either, and the
			// queue name decodes back (its invalid bytes as U+FFFD, as
			// encoding/json writes them).
			for _, c := range [][]string{{"queues", "--json"}, {"stats", "--json"}, {"batch", "show", batchID, "--json"}, {"dead", "list", "--json"}, {"errors", "--json"}, {"job", "show", nasty, "--queue", nasty, "--json"}} {
				out := mustRun(t, args(ts.flags, c...)...)
				checkTerminalSafe(t, strings.Join(c, " "), out, false)
			}
			if out := mustRun(t, args(ts.flags, "job", "cancel", nasty, "--queue", nasty)...); !strings.Contains(out, nastyShown) {
				t.Errorf("job cancel does not show the job's ID escaped:\n%s", out)
			} else {
				checkTerminalSafe(t, "job cancel", out, true)
			}
			var queues []struct{ Name string }
			if err := json.Unmarshal([]byte(mustRun(t, args(ts.flags, "queues", "--json")...)), &queues); err != nil {
				t.Fatal(err)
			}
			want := strings.ToValidUTF8(nasty, "\uFFFD")
			found := false
			for _, q := range queues {
				found = found || q.Name == want
			}
			if !found {
				t.Errorf("queues --json: no queue named %q in %+v", want, queues)
			}
		})
	}
}
