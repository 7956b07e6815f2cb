package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/json/*.golden from the commands' current output")

// goldenEpoch is where the seed's base time reads in the golden files: the
// times a command prints are shifted by (goldenEpoch − base), so that a
// golden file holds what the code printed for times the seed fixed.
var goldenEpoch = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// volatileKeys hold values no seed can fix (the wall clock, temporary
// paths, a store's own sizes and cursors): their value is replaced by its
// kind, (number), (string), (time), (array) or (object), so the golden
// file still holds the key and the kind of its value.
var volatileKeys = map[string]bool{
	"latency_ms": true, "elapsed_ms": true, "date": true, "store": true, "next": true, "ledger": true,
	// Set by the store's clock when the command runs.
	"committed_at": true, "last_beat_at": true, "cancelled_at": true, "expires_at": true, "death_at": true,
	"first_seen_at": true, "last_seen_at": true, "complete_at": true, "success_at": true,
	// Sizes in bytes depend on allocators and page layout.
	"bytes": true, "file_bytes": true, "free_pages": true, "free_bytes": true, "page_size": true,
	"alloc_bytes": true, "inuse_bytes": true, "used_memory": true, "maxmemory": true, "key_bytes": true,
	"key_bytes_error": true, "bytes_error": true, "unattributed": true, "share": true, "dbsize": true,
	"scanned": true, "measured": true,
	// The store a bench ran on, and the Redis commands an idle server sent.
	"backend": true, "memory_source": true, "commands": true,
}

// benchStable are the keys of the bench outputs whose values a run fixes;
// every other number of a bench output is a measurement.
var benchStable = map[string]bool{
	"jobs": true, "succeeded": true, "dead": true, "lost": true, "retrying": true, "concurrency": true,
	"enqueued": true, "ran": true, "duplicates": true, "lost_sample": true, "foreign": true, "logs": true,
}

// goldenCase is one command whose --json output is held by
// testdata/json/<name>.golden.
type goldenCase struct {
	name string
	args []string
	// only runs the case on that store ("redis" or "file"); "" on both,
	// which must then print the same.
	only string
	// code is the exit code the command must end with.
	code int
	// measured marks a bench output: its numbers are volatile unless
	// benchStable.
	measured bool
	// before, if set, runs on the store before the command.
	before func(t *testing.T, b backend.Backend)
}

// TestJSONGolden runs every command that takes --json on a seeded store
// (fixed IDs, times at fixed offsets from a base) and compares its output,
// normalised, with testdata/json/<command>.golden; -update rewrites them.
// Both backends must print the same.
func TestJSONGolden(t *testing.T) {
	base := time.Now().UTC().Truncate(time.Second)
	seeded := []goldenCase{
		{name: "stats", args: []string{"stats"}},
		{name: "queues", args: []string{"queues"}},
		{name: "scheduled-list", args: []string{"scheduled", "list"}},
		{name: "retries-list", args: []string{"retries", "list"}},
		{name: "dead-list", args: []string{"dead", "list"}},
		{name: "dead-list-page", args: []string{"dead", "list", "--limit", "1"}},
		{name: "errors", args: []string{"errors"}},
		{name: "batch-list", args: []string{"batch", "list"}},
		{name: "batch-show", args: []string{"batch", "show", "batch-1"}},
		{name: "job-show", args: []string{"job", "show", "sched-2", "--queue", "mail"}},
		{name: "memory-redis", args: []string{"memory", "--top", "0"}, only: "redis"},
		{name: "memory-file", args: []string{"memory"}, only: "file"},
		{name: "cleanup", args: []string{"cleanup", "--batches", "--processes"}, only: "redis"},
		{name: "migrate", args: []string{"migrate"}},
		{name: "dead-retry", args: []string{"dead", "retry", "dead-1"}},
		{name: "retries-delete", args: []string{"retries", "delete", "--all"}},
		{name: "batch-cancel", args: []string{"batch", "cancel", "batch-1"}},
		{name: "batch-delete", args: []string{"batch", "delete", "batch-1"}},
		{name: "queue-pause", args: []string{"queue", "pause", "mail"}},
		{name: "queue-resume", args: []string{"queue", "resume", "mail"}},
		{name: "queue-clear", args: []string{"queue", "clear", "default"}},
		// The embedded store keeps processes in its owner's memory only: a
		// process shows in the CLI's stats on Redis.
		{name: "stats-process", args: []string{"stats"}, only: "redis", before: func(t *testing.T, b backend.Backend) {
			proc := backend.ProcessInfo{
				ID: "host-a:4242:1", Hostname: "host-a", PID: 4242, Queues: []string{"default", "mail"},
				Concurrency: 10, StartedAt: base.Add(-time.Hour), LastBeat: base,
			}
			if err := b.Heartbeat(context.Background(), proc, time.Hour); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "health", args: []string{"health"}},
		{name: "process-quiet", args: []string{"process", "quiet", "host-b:1:1"}, only: "redis", before: func(t *testing.T, b backend.Backend) {
			if err := b.Heartbeat(context.Background(), backend.ProcessInfo{ID: "host-b:1:1", StartedAt: base}, time.Hour); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "job-cancel", args: []string{"job", "cancel", "sched-1", "--queue", "mail"}},
	}
	ledger := t.TempDir()
	fresh := []goldenCase{
		{name: "bench", args: []string{"bench", "--jobs", "20", "--concurrency", "4", "--fail-rate", "0.25", "--retries", "0"}, measured: true},
		{name: "bench-latency", args: []string{"bench", "latency", "--rate", "200", "--duration", "200ms", "--concurrency", "4"}, measured: true},
		{name: "bench-idle", args: []string{"bench", "idle", "--duration", "200ms"}, only: "redis", measured: true},
		{name: "bench-enqueue", args: []string{"bench", "enqueue", "--jobs", "5", "--ledger", ledger}, only: "file", measured: true},
		// The ledger's jobs never ran: verify reports them lost, exit 1.
		{name: "bench-verify", args: []string{"bench", "verify", "--ledger", ledger}, only: "file", code: 1, measured: true},
	}

	got := map[string]map[string]string{} // case → store → normalised output
	run := func(s testStore, cases []goldenCase) {
		for _, c := range cases {
			if c.only != "" && c.only != s.name {
				continue
			}
			if c.before != nil {
				b := s.open(t)
				c.before(t, b)
				if err := b.Close(); err != nil {
					t.Fatal(err)
				}
			}
			r := runCmd(t, nil, append(append(c.args, "--json"), s.flags...)...)
			if r.code != c.code {
				t.Fatalf("%s: joblot %v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", s.name, c.args, r.code, c.code, r.stdout, r.stderr)
			}
			norm, err := normaliseJSON(r.stdout, base, c.measured)
			if err != nil {
				t.Fatalf("%s: joblot %v --json: %v\n%s", s.name, c.args, err, r.stdout)
			}
			if got[c.name] == nil {
				got[c.name] = map[string]string{}
			}
			got[c.name][s.name] = norm
		}
	}
	for _, s := range testStores(t) {
		b := s.open(t)
		seedGolden(t, b, base)
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		run(s, seeded)
	}
	for _, s := range testStores(t) {
		run(s, fresh)
	}

	for _, c := range append(seeded, fresh...) {
		outs := got[c.name]
		out := outs["redis"]
		if c.only == "file" {
			out = outs["file"]
		}
		if c.only == "" && outs["redis"] != outs["file"] {
			t.Errorf("%s: the backends print different JSON:\n%s", c.name, lineDiff(outs["redis"], outs["file"]))
			continue
		}
		path := filepath.Join("testdata", "json", c.name+".golden")
		if *updateGolden {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -run TestJSONGolden -update to write it)", err)
		}
		if string(want) != out {
			t.Errorf("%s --json differs from %s (-want +got; -update rewrites it):\n%s", c.name, path, lineDiff(string(want), out))
		}
	}
}

// seedGolden fills b with a fixed content: IDs, args, errors and times at
// fixed offsets from base.
func seedGolden(t *testing.T, b backend.Backend, base time.Time) {
	t.Helper()
	ctx := context.Background()
	at := func(d time.Duration) time.Time { return base.Add(d) }
	job := func(id, queue, kind string, created time.Duration) *backend.Job {
		return &backend.Job{ID: id, Queue: queue, Kind: kind, Args: []byte(fmt.Sprintf(`{"id":%q}`, id)), CreatedAt: at(created)}
	}
	sched1, sched2 := job("sched-1", "mail", "Remind", -time.Hour), job("sched-2", "mail", "Remind", -time.Hour)
	sched1.RunAt, sched2.RunAt = at(time.Hour), at(2*time.Hour)
	sched2.MaxRetries = 3
	// A snoozed job with metadata and a trace context.
	sched2.Meta, sched2.TraceContext, sched2.Snoozes = map[string]string{"tenant": "acme", "request_id": "r-42"}, "\x00\x4b\xf9\x01", 2
	failing := []*backend.Job{
		job("retry-1", "mail", "Send", -2*time.Hour),
		job("dead-1", "sms", "Text", -3*time.Hour),
		job("dead-2", "sms", "Text", -3*time.Hour),
	}
	if _, err := b.Enqueue(ctx, append([]*backend.Job{sched1, sched2}, failing...)); err != nil {
		t.Fatal(err)
	}
	batchDead, batchPending := job("batch-job-1", "reports", "Report", -4*time.Hour), job("batch-job-2", "reports-slow", "Report", -4*time.Hour)
	spec := &backend.BatchSpec{
		ID: "batch-1", Description: "nightly reports", CreatedAt: at(-4 * time.Hour), CommitDeadline: at(24 * time.Hour),
		Callbacks: map[backend.CallbackEvent]*backend.Job{
			backend.CallbackComplete: {Kind: "ReportsDone", Queue: "callbacks", Args: []byte(`{"notify":"ops"}`)},
			backend.CallbackSuccess:  {Kind: "ReportsOK", Queue: "callbacks"},
		},
	}
	if err := b.CreateBatch(ctx, spec); err != nil {
		t.Fatal(err)
	}
	if err := b.AddToBatch(ctx, &backend.BatchAdd{BatchID: "batch-1", Jobs: []*backend.Job{batchDead, batchPending}}); err != nil {
		t.Fatal(err)
	}
	if err := b.CommitBatch(ctx, "batch-1"); err != nil {
		t.Fatal(err)
	}

	// Fail the jobs as a server would: retry-1 waits to retry, the others
	// die, each with its own error and times.
	type failure struct {
		outcome backend.Outcome
		msg     string
		at      time.Duration
	}
	failures := map[string]failure{
		"retry-1":     {backend.OutcomeRetry, "smtp: 421 try again later", -30 * time.Minute},
		"dead-1":      {backend.OutcomeDead, "carrier rejected: invalid number", -20 * time.Minute},
		"dead-2":      {backend.OutcomeDead, "carrier rejected: invalid number", -10 * time.Minute},
		"batch-job-1": {backend.OutcomeDead, "report template missing", -5 * time.Minute},
	}
	for left := len(failures); left > 0; {
		fr, err := b.Fetch(ctx, backend.FetchParams{Proc: "seeder", Queues: []string{"mail", "sms", "reports"}, Max: 10})
		fetched := fr.Jobs
		if err != nil {
			t.Fatal(err)
		}
		if len(fetched) == 0 {
			t.Fatalf("seed: %d failing jobs were never fetched", left)
		}
		results := make([]backend.Result, 0, len(fetched))
		for _, f := range fetched {
			fl, ok := failures[f.ID]
			if !ok {
				t.Fatalf("seed: fetched %s", f.ID)
			}
			j := f.Job.Clone()
			j.Attempt++
			j.ErrorClass, j.ErrorMessage, j.FailedAt = "Error", fl.msg, at(fl.at)
			j.ErrorFingerprint = "fp-" + strings.Fields(fl.msg)[0]
			r := backend.Result{Fetched: f, Job: j, Outcome: fl.outcome, Duration: time.Millisecond}
			if fl.outcome == backend.OutcomeRetry {
				r.RetryAt = at(time.Hour)
			} else {
				j.DiedAt = at(fl.at)
			}
			results = append(results, r)
		}
		if err := b.Complete(ctx, "seeder", results); err != nil {
			t.Fatal(err)
		}
		left -= len(fetched)
	}
	if _, err := b.Enqueue(ctx, []*backend.Job{job("queued-1", "default", "Ping", -time.Minute)}); err != nil {
		t.Fatal(err)
	}
}

// timeValue matches a time as the contract prints it: RFC 3339 in UTC.
var timeValue = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$`)

// normaliseJSON parses one JSON value, replaces the values of volatile
// keys by their kind, shifts times by goldenEpoch − base, and prints it
// indented, keys in the order the command printed them. With measured,
// every number outside benchStable is volatile too.
func normaliseJSON(out string, base time.Time, measured bool) (string, error) {
	dec := json.NewDecoder(strings.NewReader(out))
	dec.UseNumber()
	v, err := readOrdered(dec)
	if err != nil {
		return "", err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("more than one JSON value (%v)", err)
	}
	if err := checkContract(v, ""); err != nil {
		return "", err
	}
	v = normaliseValue(v, "", base, measured)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return b.String(), nil
}

// ordered is a JSON object that keeps its keys' order.
type ordered struct {
	keys []string
	vals []any
}

// MarshalJSON prints the object's keys in order.
func (o ordered) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range o.keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		b.Write(kb)
		b.WriteByte(':')
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(o.vals[i]); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// readOrdered reads one JSON value from dec: objects as ordered, arrays
// as []any (never nil), numbers as json.Number.
func readOrdered(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch d := tok.(type) {
	case json.Delim:
		switch d {
		case '{':
			o := ordered{}
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				v, err := readOrdered(dec)
				if err != nil {
					return nil, err
				}
				o.keys, o.vals = append(o.keys, kt.(string)), append(o.vals, v)
			}
			_, err := dec.Token()
			return o, err
		case '[':
			a := []any{}
			for dec.More() {
				v, err := readOrdered(dec)
				if err != nil {
					return nil, err
				}
				a = append(a, v)
			}
			_, err := dec.Token()
			return a, err
		}
		return nil, fmt.Errorf("unexpected %v", d)
	}
	return tok, nil
}

func normaliseValue(v any, key string, base time.Time, measured bool) any {
	if volatileKeys[key] || (measured && key != "" && !benchStable[key] && isNumber(v)) {
		return "(" + kindOf(v) + ")"
	}
	switch x := v.(type) {
	case ordered:
		// How many per-minute records an ack writes depends on whether
		// the seeding crossed a minute (an hour on Redis) of the wall clock.
		perMinute := false
		for i, k := range x.keys {
			if s, ok := x.vals[i].(string); ok && (k == "name" && s == "mins" || k == "family" && s == "throughput") {
				perMinute = true
			}
		}
		for i, k := range x.keys {
			if perMinute && k == "keys" {
				x.vals[i] = "(" + kindOf(x.vals[i]) + ")"
				continue
			}
			x.vals[i] = normaliseValue(x.vals[i], k, base, measured)
		}
		return x
	case []any:
		for i := range x {
			x[i] = normaliseValue(x[i], key, base, measured)
		}
		return x
	case string:
		if timeValue.MatchString(x) {
			t, err := time.Parse(time.RFC3339Nano, x)
			if err == nil {
				return goldenEpoch.Add(t.Sub(base)).Format(time.RFC3339Nano)
			}
		}
	}
	return v
}

// snakeKey is a key as the contract spells it.
var snakeKey = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// checkContract holds the key rules of docs/cli-json.md on a parsed
// output: snake_case keys, a time only under a key ending in _at and such
// a key holding a UTC time, no null anywhere.
func checkContract(v any, key string) error {
	switch x := v.(type) {
	case nil:
		return fmt.Errorf("%q is null", key)
	case ordered:
		for i, k := range x.keys {
			if !snakeKey.MatchString(k) {
				return fmt.Errorf("key %q is not snake_case", k)
			}
			if err := checkContract(x.vals[i], k); err != nil {
				return err
			}
		}
	case []any:
		for _, e := range x {
			if err := checkContract(e, key); err != nil {
				return err
			}
		}
	case string:
		if isTime := timeValue.MatchString(x); isTime != strings.HasSuffix(key, "_at") {
			return fmt.Errorf("%q holds %q: times, and only they, go under keys ending in _at, in UTC", key, x)
		}
	default:
		if strings.HasSuffix(key, "_at") {
			return fmt.Errorf("%q holds %v, not a time", key, x)
		}
	}
	return nil
}

func isNumber(v any) bool { _, ok := v.(json.Number); return ok }

func kindOf(v any) string {
	switch x := v.(type) {
	case json.Number:
		return "number"
	case string:
		if timeValue.MatchString(x) {
			return "time"
		}
		return "string"
	case bool:
		return "bool"
	case []any:
		return "array"
	case ordered:
		return "object"
	}
	return "null"
}

// lineDiff shows the lines of a and b that differ, prefixed - and +.
func lineDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	var out strings.Builder
	for i := 0; i < max(len(al), len(bl)); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			fmt.Fprintf(&out, "%d:\n- %s\n+ %s\n", i+1, x, y)
		}
	}
	return out.String()
}
