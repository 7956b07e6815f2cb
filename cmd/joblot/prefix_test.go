package main

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/memreport"
	"github.com/joblot/joblot/internal/rediskeys"
	"github.com/joblot/joblot/internal/redistest"
)

// prefixSnapshot is every key of one prefix with its DUMP, to tell that a
// command left that prefix's keys exactly as they were.
func prefixSnapshot(t *testing.T, c rueidis.Client, l rediskeys.Layout) map[string]string {
	t.Helper()
	snap := map[string]string{}
	for _, k := range allKeys(t, c) {
		if l.Owns(k) {
			v, err := redisDo(t, c, "DUMP", k).ToString()
			if err != nil {
				t.Fatalf("DUMP %s: %v", k, err)
			}
			snap[k] = v
		}
	}
	return snap
}

// allKeys is a full SCAN of c's (standalone) Redis.
func allKeys(t *testing.T, c rueidis.Client) []string {
	t.Helper()
	var keys []string
	var cursor uint64
	for {
		e, err := c.Do(context.Background(), c.B().Scan().Cursor(cursor).Count(1000).Build()).AsScanEntry()
		if err != nil {
			t.Fatalf("SCAN: %v", err)
		}
		keys = append(keys, e.Elements...)
		if cursor = e.Cursor; cursor == 0 {
			return keys
		}
	}
}

// TestPrefixesSideBySide runs the commands on two applications sharing one
// Redis, the default prefix and app2 (chosen by --prefix or by the URL's
// ?prefix=): stats shows each its own queues, memory counts each its own
// keys in joblot's families, and cleanup of one, dry run or applied,
// leaves every key of the other exactly as it was.
func TestPrefixesSideBySide(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	c := redisClient(t, srv)
	type app struct {
		prefix string
		flags  []string
		keys   rediskeys.Layout
		queues []string // queues only this application has
	}
	apps := []*app{
		{prefix: "jl", flags: []string{"--redis", srv.URL}, queues: []string{"only-jl"}},
		{prefix: "app2", flags: []string{"--redis", srv.URL, "--prefix", "app2"}, queues: []string{"only-app2", "more-app2"}},
	}
	for _, a := range apps {
		var err error
		if a.keys, err = rediskeys.New(a.prefix); err != nil {
			t.Fatal(err)
		}
		b, err := redis.Open(ctx, redis.Options{URL: srv.URL, Prefix: a.prefix})
		if err != nil {
			t.Fatal(err)
		}
		seed(t, b, []seedSpec{{set: backend.SetDead, queue: "mail", kind: "K", errMsg: "boom", fp: "fp", n: 40}})
		job := func(q string) *backend.Job {
			return &backend.Job{ID: backend.NewJobID(), Kind: "K", Queue: q, Args: []byte(`{}`), CreatedAt: time.Now()}
		}
		jobs := []*backend.Job{job("mail"), job("mail")}
		for _, q := range a.queues {
			jobs = append(jobs, job(q))
		}
		if _, err := b.Enqueue(ctx, jobs); err != nil {
			t.Fatal(err)
		}
		if err := b.CreateBatch(ctx, &backend.BatchSpec{ID: "b-" + a.prefix, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if err := b.AddToBatch(ctx, &backend.BatchAdd{BatchID: "b-" + a.prefix, Jobs: []*backend.Job{job("mail"), job("mail")}}); err != nil {
			t.Fatal(err)
		}
		if err := b.Heartbeat(ctx, backend.ProcessInfo{ID: "proc-" + a.prefix, Queues: []string{"mail"}}, time.Hour); err != nil {
			t.Fatal(err)
		}
		b.Close()
		// The remains of a batch that is gone (no meta): cleanup
		// --batches removes them.
		redisDo(t, c, "SET", a.keys.BatchTag("gone")+":"+rediskeys.SuffixBits, "x")
	}

	// stats: its own queues and processes only.
	for _, a := range apps {
		var st statsView
		if err := json.Unmarshal([]byte(mustRun(t, append(a.flags, "stats", "--json")...)), &st); err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, q := range st.Queues {
			names = append(names, q.Name)
		}
		slices.Sort(names)
		if want := slices.Sorted(slices.Values(append([]string{"mail"}, a.queues...))); !slices.Equal(names, want) {
			t.Errorf("%s: stats shows queues %v, want %v", a.prefix, names, want)
		}
		if len(st.Processes) != 1 || st.Processes[0].ID != "proc-"+a.prefix {
			t.Errorf("%s: stats shows processes %+v, want only proc-%s", a.prefix, st.Processes, a.prefix)
		}
		if got := listIDs(t, a.flags, "dead"); len(got) != 40 {
			t.Errorf("%s: %d dead jobs listed, want 40", a.prefix, len(got))
		}
	}

	// memory: joblot's families count exactly the prefix's keys, each in
	// the family its name says; the URL's ?prefix= works like --prefix.
	for _, tc := range []struct {
		flags []string
		app   *app
	}{
		{apps[1].flags, apps[1]},
		{[]string{"--redis", srv.URL + "/0?prefix=app2"}, apps[1]},
		{apps[0].flags, apps[0]},
	} {
		flags, l := tc.flags, tc.app.keys
		want := map[memreport.Family]int64{}
		for _, k := range allKeys(t, c) {
			if l.Owns(k) {
				f, _ := memreport.Classify(l, k)
				want[f]++
			}
		}
		var m memoryJSON
		if err := json.Unmarshal([]byte(mustRun(t, append(flags, "memory", "--json")...)), &m); err != nil {
			t.Fatal(err)
		}
		got := map[memreport.Family]int64{}
		for _, fi := range memreport.Families(l) {
			if fi.Legacy || fi.Family == memreport.Other {
				continue
			}
			if keys, _, _ := m.family(t, fi.Family); keys > 0 {
				got[fi.Family] = keys
			}
		}
		if !maps.Equal(got, want) || want[memreport.Dead] != 1 || want[memreport.Queues] != int64(1+len(tc.app.queues)) {
			t.Errorf("memory %v: joblot families %v, want %v (the prefix's keys only)", flags, got, want)
		}
	}

	// cleanup of app2 (dry run, then applied), then of the default
	// prefix: each leaves the other's keys untouched.
	targets := []string{"cleanup", "--batches", "--processes", "--dead", "--dead-max-jobs", "10", "--json"}
	for i, a := range []*app{apps[1], apps[0]} {
		other := apps[i]
		before := prefixSnapshot(t, c, other.keys)
		mine := prefixSnapshot(t, c, a.keys)
		r := decodeCleanup(t, mustRun(t, append(a.flags, targets...)...))
		found := map[string][2]int64{}
		for _, tr := range r.Targets {
			found[tr.Target] = [2]int64{tr.Keys, tr.Members}
		}
		if r.Applied || found["batches"] != [2]int64{1, 0} || found["dead-jobs"] != [2]int64{0, 30} {
			t.Errorf("%s: dry run found %v, want the gone batch's key and 30 dead jobs", a.prefix, found)
		}
		if after := prefixSnapshot(t, c, a.keys); !maps.Equal(after, mine) {
			t.Errorf("%s: the dry run changed its keys", a.prefix)
		}
		r = decodeCleanup(t, mustRun(t, append(a.flags, append(targets, "--apply")...)...))
		if !r.Applied {
			t.Errorf("%s: --apply did not apply: %+v", a.prefix, r)
		}
		if got := listIDs(t, a.flags, "dead"); len(got) != 10 {
			t.Errorf("%s: %d dead jobs after trimming to 10", a.prefix, len(got))
		}
		if n, _ := redisDo(t, c, "EXISTS", a.keys.BatchTag("gone")+":"+rediskeys.SuffixBits).AsInt64(); n != 0 {
			t.Errorf("%s: the gone batch's key is still there", a.prefix)
		}
		after := prefixSnapshot(t, c, other.keys)
		if !maps.Equal(after, before) {
			var diff []string
			for k := range before {
				if after[k] != before[k] {
					diff = append(diff, k)
				}
			}
			for k := range after {
				if _, ok := before[k]; !ok {
					diff = append(diff, k)
				}
			}
			t.Errorf("cleanup of %s changed keys of %s: %v", a.prefix, other.prefix, diff)
		}
		if len(before) < 10 {
			t.Errorf("%s has only %d keys: the check saw too little", other.prefix, len(before))
		}
	}

	// A newer data model under app2 refuses app2's cleanup, not jl's.
	redisDo(t, c, "SET", "app2:version", "99")
	if r := runCmd(t, nil, append(apps[1].flags, "cleanup", "--processes")...); r.code == 0 || !contains(r.stderr, backend.ErrVersionTooNew.Error()) {
		t.Errorf("cleanup --prefix app2 on a newer app2: exit %d, stderr %q", r.code, r.stderr)
	}
	mustRun(t, append(apps[0].flags, "cleanup", "--processes")...)
}

// TestPrefixRefused checks that a bad or conflicting prefix is refused
// with a clear error before anything reaches Redis, whichever way it is
// given.
func TestPrefixRefused(t *testing.T) {
	srv := redistest.Start(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--redis", srv.URL, "--prefix", "{app}"}, "brace"},
		{[]string{"--redis", srv.URL, "--prefix", "a}b"}, "brace"},
		{[]string{"--redis", srv.URL, "--prefix", "a:b"}, "colon"},
		{[]string{"--redis", srv.URL, "--prefix", ":"}, "colon"},
		{[]string{"--redis", srv.URL, "--prefix", "a b"}, "only ASCII letters"},
		{[]string{"--redis", srv.URL, "--prefix", "a*"}, "only ASCII letters"},
		{[]string{"--redis", srv.URL, "--prefix", "caf\u00e9"}, "only ASCII letters"},
		{[]string{"--redis", srv.URL, "--prefix", "a\xffb"}, "only ASCII letters"},
		{[]string{"--redis", srv.URL, "--prefix", strings.Repeat("x", 65)}, "at most 64"},
		{[]string{"--redis", srv.URL, "--prefix", ""}, "--prefix is empty"},
		{[]string{"--redis", srv.URL + "/0?prefix=%7Bx%7D"}, "brace"},
		{[]string{"--redis", srv.URL + "/0?prefix="}, "is empty"},
		{[]string{"--redis", srv.URL + "/0?prefix=app1", "--prefix", "app2"}, "differ"},
		{[]string{"--db", t.TempDir() + "/j.db", "--prefix", "app1"}, "Redis only"},
	} {
		for _, cmd := range [][]string{{"stats"}, {"memory"}, {"cleanup", "--batches"}, {"migrate", "--dry-run"}, {"dead", "list"}} {
			r := runCmd(t, nil, append(slices.Clone(tc.args), cmd...)...)
			if r.code == 0 || !contains(r.stderr, tc.want) {
				t.Errorf("joblot %q %v: exit %d, stderr %q; want an error saying %q", tc.args, cmd, r.code, r.stderr, tc.want)
			}
		}
	}
	if n, err := srv.Do("DBSIZE"); err != nil || n != "0" {
		t.Errorf("DBSIZE after refused commands = %s, %v; want 0", n, err)
	}
}
