package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/redistest"
)

type cleanupJSON struct {
	Applied bool `json:"applied"`
	Targets []struct {
		Target  string `json:"target"`
		Keys    int64  `json:"keys"`
		Members int64  `json:"members"`
		Bytes   int64  `json:"bytes"`
	} `json:"targets"`
}

func decodeCleanup(t *testing.T, out string) cleanupJSON {
	t.Helper()
	var r cleanupJSON
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("cleanup --json: %v\n%s", err, out)
	}
	return r
}

func TestCleanupLegacySidekiqFailinfo(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{MaxMemoryPolicy: "allkeys-lru"})
	c := redisClient(t, srv)
	fx := fillSidekiq(t, c, 30, 200)
	s := []string{"--redis", srv.URL}
	dbsize := func() int64 { n, _ := redisDo(t, c, "DBSIZE").AsInt64(); return n }

	// Dry run: says what and how much, removes nothing.
	r := decodeCleanup(t, mustRun(t, args(s, "cleanup", "--legacy-sidekiq-failinfo", "--json")...))
	if r.Applied || len(r.Targets) != 1 || r.Targets[0].Keys != 30 || r.Targets[0].Bytes != fx.failinfoBytes {
		t.Errorf("dry run: %+v, want 30 keys, %d bytes, not applied", r, fx.failinfoBytes)
	}
	out := mustRun(t, args(s, "cleanup", "--legacy-sidekiq-failinfo")...)
	for _, want := range []string{"sidekiq-failinfo", "dry run", "--apply", "b-Zq8_"} {
		if !contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	if n := dbsize(); n != int64(fx.keys) {
		t.Fatalf("dry run changed Redis: DBSIZE %d, want %d", n, fx.keys)
	}

	// Interrupted while applying at a low rate: it reports what it did and
	// says that re-running resumes. At one key a second, removing all 30
	// keys takes at least as many seconds as the first chunk holds keys
	// beyond the first second: the interruption, sent as soon as the first
	// chunk is gone, lands well inside the run even on a busy machine.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan result, 1)
	go func() {
		done <- runCmdCtx(ctx, nil, args(s, "cleanup", "--legacy-sidekiq-failinfo", "--apply", "--rate", "1")...)
	}()
	eventually(t, "cleanup --apply to remove a key", func() bool { return dbsize() != int64(fx.keys) })
	cancel()
	ir := <-done
	if ir.code != 130 || !contains(ir.stderr, "again resumes") || !contains(ir.stdout, "sidekiq-failinfo") {
		t.Errorf("interrupted cleanup: exit %d\nstdout:\n%s\nstderr:\n%s", ir.code, ir.stdout, ir.stderr)
	}
	left := dbsize()
	if left <= int64(fx.keys-30) {
		t.Fatalf("the interrupted run finished everything (DBSIZE %d): the test did not interrupt it", left)
	}

	// Re-running finishes the job; every other key survives.
	r = decodeCleanup(t, mustRun(t, args(s, "cleanup", "--legacy-sidekiq-failinfo", "--apply", "--json")...))
	if !r.Applied || r.Targets[0].Keys != left-int64(fx.keys-30) {
		t.Errorf("resumed run: %+v, want the %d keys left", r, left-int64(fx.keys-30))
	}
	if n := dbsize(); n != int64(fx.keys-30) {
		t.Errorf("after cleanup DBSIZE %d, want %d", n, fx.keys-30)
	}
	for _, k := range fx.failinfo {
		if n, _ := redisDo(t, c, "EXISTS", k).AsInt64(); n != 0 {
			t.Errorf("%s survived cleanup", k)
		}
	}
	for _, k := range append(fx.unrelated, "b-Zq8_0000000000", "b-Zq8_0000000000-jids", "b-Zq8_0000000000-failed", "queue:default", "retry", "dead", "stat:processed") {
		if n, _ := redisDo(t, c, "EXISTS", k).AsInt64(); n != 1 {
			t.Errorf("cleanup removed %s, outside the failinfo family", k)
		}
	}
	r = decodeCleanup(t, mustRun(t, args(s, "cleanup", "--legacy-sidekiq-failinfo", "--apply", "--json")...))
	if r.Targets[0].Keys != 0 {
		t.Errorf("a third run still found %d keys", r.Targets[0].Keys)
	}
}

func TestCleanupDeadJobsAndRefusals(t *testing.T) {
	stores := testStores(t)
	rs, fs := stores[0], stores[1]
	b := rs.open(t)
	seed(t, b, []seedSpec{
		{set: backend.SetDead, queue: "mail", kind: "K", errMsg: "boom", fp: "fp", n: 40},
		{set: backend.SetDead, queue: "sms", kind: "K", errMsg: "boom", fp: "fp", n: 5},
	})
	b.Close()

	r := decodeCleanup(t, mustRun(t, args(rs.flags, "cleanup", "--dead", "--dead-max-jobs", "10", "--json")...))
	if r.Applied || r.Targets[0].Members != 30 {
		t.Errorf("dead dry run: %+v, want 30 jobs over the cap", r)
	}
	if got := listIDs(t, rs.flags, "dead"); len(got) != 45 {
		t.Errorf("dry run removed dead jobs: %d left", len(got))
	}
	mustRun(t, args(rs.flags, "cleanup", "--dead", "--dead-max-jobs", "10", "--apply")...)
	if got, sms := listIDs(t, rs.flags, "dead", "--queue", "mail"), listIDs(t, rs.flags, "dead", "--queue", "sms"); len(got) != 10 || len(sms) != 5 {
		t.Errorf("after trimming to 10 per queue: mail %d, sms %d dead jobs; want 10 and 5", len(got), len(sms))
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"cleanup"}, "choose what to clean"},
		{[]string{"cleanup", "--dead"}, "needs a cap"},
		{[]string{"cleanup", "--batches", "--dead-max-age", "1h"}, "add --dead"},
	} {
		if r := runCmd(t, nil, args(rs.flags, tc.args...)...); r.code == 0 || !contains(r.stderr, tc.want) {
			t.Errorf("joblot %v: exit %d, stderr %q, want an error saying %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	if r := runCmd(t, nil, args(fs.flags, "cleanup", "--batches")...); r.code == 0 || !contains(r.stderr, "works on Redis") {
		t.Errorf("cleanup on the file store: exit %d, stderr %q", r.code, r.stderr)
	}

	// A store written by a newer joblot: its keys are not cleaned, legacy
	// Sidekiq keys still are.
	c := redisClient(t, rs.srv)
	redisDo(t, c, "SET", "jl:version", "99")
	if r := runCmd(t, nil, args(rs.flags, "cleanup", "--processes")...); r.code == 0 || !contains(r.stderr, backend.ErrVersionTooNew.Error()) {
		t.Errorf("cleanup --processes on a newer store: exit %d, stderr %q", r.code, r.stderr)
	}
	mustRun(t, args(rs.flags, "cleanup", "--legacy-sidekiq-failinfo")...)
}
