package cleanup

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/internal/redistest"
)

func newClient(t testing.TB, srv *redistest.Server) rueidis.Client {
	t.Helper()
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{srv.Addr}, DisableCache: true})
	if err != nil {
		t.Fatalf("rueidis: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

func do(t testing.TB, c rueidis.Client, args ...string) rueidis.RedisResult {
	t.Helper()
	res := c.Do(context.Background(), c.B().Arbitrary(args[0]).Args(args[1:]...).Build())
	if err := res.Error(); err != nil && !rueidis.IsRedisNil(err) {
		t.Fatalf("%v: %v", args, err)
	}
	return res
}

// fixture is a database with every target's data and unrelated keys around.
type fixture struct {
	now time.Time
	// doomed are the keys a full Apply removes; trimmed the keys it
	// changes (their expected end state is checked by checkApplied).
	doomed  map[string]bool
	trimmed map[string]bool
	// failinfoBytes is MEMORY USAGE summed over the failinfo hashes.
	failinfoBytes int64
	kept          map[Target]int64
}

const (
	deadCap      = 300
	deadDefault  = 1000
	failinfoBIDs = 40
	// prunedIndex: gone-long-ago, the 3 orphans, the 3 removed batches.
	prunedIndex = 7
)

func fill(t testing.TB, c rueidis.Client) *fixture {
	f := &fixture{now: time.Now(), doomed: map[string]bool{}, trimmed: map[string]bool{}, kept: map[Target]int64{}}
	ms := func(d time.Duration) string { return strconv.FormatInt(f.now.Add(-d).UnixMilli(), 10) }
	msg := strings.Repeat("Net::ReadTimeout: upstream did not answer ", 5)

	// Sidekiq Pro batches: failinfo hashes go, everything else stays.
	for i := 0; i < failinfoBIDs; i++ {
		bid := fmt.Sprintf("Qw-%010d_z", i)
		args := []string{"HSET", "b-" + bid + "-failinfo"}
		for j := 0; j < 300; j++ {
			args = append(args, fmt.Sprintf("%024x", i*1000+j), `["Net::ReadTimeout","`+msg+`"]`)
		}
		do(t, c, args...)
		f.doomed["b-"+bid+"-failinfo"] = true
		n, _ := do(t, c, "MEMORY", "USAGE", "b-"+bid+"-failinfo", "SAMPLES", "0").AsInt64()
		f.failinfoBytes += n
		do(t, c, "HSET", "b-"+bid, "total", "300")
		do(t, c, "SADD", "b-"+bid+"-jids", "a", "b")
		do(t, c, "SADD", "b-"+bid+"-failed", "a")
	}
	// Unrelated keys, several named like targets.
	for i := 0; i < 200; i++ {
		do(t, c, "SET", fmt.Sprintf("myapp:user:%d", i), "x")
	}
	do(t, c, "SET", "b-foo", "another app")
	do(t, c, "HSET", "b-123-failinfo-backup", "jid", "kept by an operator")
	do(t, c, "HSET", "myapp:b-1-failinfo", "jid", "x")
	do(t, c, "HSET", "b-a:b-failinfo", "jid", "not a bid")
	do(t, c, "SET", "b-str-failinfo", "a string, not Sidekiq's hash")
	f.kept[SidekiqFailinfo]++
	do(t, c, "HSET", "{jl:b:x", "broken", "tag")

	batch := func(id string, meta []string, ttl time.Duration, outbox bool, doomed bool) {
		tag := "{jl:b:" + id + "}"
		keys := []string{tag + ":bits", tag + ":errs", tag + ":kids"}
		do(t, c, "SETRANGE", tag+":bits", "100", "\x01")
		do(t, c, "HSET", tag+":errs", "c:fp1", "3", "i:fp1", msg)
		do(t, c, "SADD", tag+":kids", "child")
		if meta != nil {
			do(t, c, append([]string{"HSET", tag + ":meta"}, meta...)...)
			keys = append(keys, tag+":meta")
		}
		if outbox {
			do(t, c, "RPUSH", tag+":outbox", "complete\npayload")
			keys = append(keys, tag+":outbox")
		}
		for _, k := range keys {
			if ttl > 0 {
				do(t, c, "PEXPIRE", k, strconv.FormatInt(ttl.Milliseconds(), 10))
			}
			if doomed {
				f.doomed[k] = true
			}
		}
		do(t, c, "ZADD", "jl:batches", ms(48*time.Hour), id)
	}
	batch("running", []string{"total", "5", "pending", "5", "dead", "0"}, 30*24*time.Hour, false, false)
	batch("running-nottl", []string{"total", "5", "pending", "5", "dead", "0"}, 0, false, false)
	batch("success-old", []string{"total", "5", "succeeded", "5", "dead", "0", "success_at", ms(48 * time.Hour)}, 0, false, true)
	batch("success-recent", []string{"total", "5", "succeeded", "5", "dead", "0", "success_at", ms(time.Hour)}, 0, false, false)
	batch("success-ttl", []string{"total", "5", "succeeded", "5", "dead", "0", "success_at", ms(48 * time.Hour)}, time.Hour, false, false)
	batch("cancelled-dead", []string{"total", "5", "dead", "2", "cancelled_at", ms(40 * 24 * time.Hour)}, 0, false, false)
	batch("cancelled-old", []string{"total", "5", "dead", "0", "cancelled_at", ms(40 * 24 * time.Hour)}, 0, false, true)
	batch("expired-old", []string{"total", "0", "dead", "0", "expired", ms(31 * 24 * time.Hour)}, 0, false, true)
	batch("bad-time", []string{"total", "0", "dead", "0", "success_at", "yesterday"}, 0, false, false)
	f.kept[Batches]++
	batch("orphan", nil, 0, false, true)
	batch("orphan-ttl", nil, time.Hour, false, true)
	batch("orphan-outbox", nil, 0, true, false)
	f.kept[Batches]++
	f.trimmed["jl:batches"] = true
	do(t, c, "ZADD", "jl:batches", ms(48*time.Hour), "gone-long-ago")
	do(t, c, "ZADD", "jl:batches", ms(time.Minute), "gone-just-now")

	// Processes: p1 is registered, p9 is not.
	do(t, c, "ZADD", "jl:procs", strconv.FormatInt(f.now.Add(time.Minute).UnixMilli(), 10), "p1")
	do(t, c, "HSET", "jl:proc:p1", "host", "a")
	do(t, c, "HSET", "jl:proc:p9", "host", "b")
	f.doomed["jl:proc:p9"] = true
	do(t, c, "HSET", "{jl:q:default}:wip:p1", "j1", "payload")
	do(t, c, "HSET", "{jl:q:default}:wip:p9", "j2", "payload", "j3", "payload")
	f.kept[Processes]++

	// Dead sets: default is over the cap, mail under it.
	args := []string{"ZADD", "{jl:q:default}:dead"}
	for i := 0; i < deadDefault; i++ {
		args = append(args, strconv.Itoa(1_700_000_000_000+i), fmt.Sprintf("job-%04d", i))
	}
	do(t, c, args...)
	do(t, c, "HSET", "{jl:q:default}:stats", "processed", "5000", "dead_bytes", strconv.Itoa(deadDefault*8))
	do(t, c, "ZADD", "{jl:q:mail}:dead", "1", "m1", "2", "m2")
	do(t, c, "HSET", "{jl:q:mail}:stats", "processed", "7")
	do(t, c, "RPUSH", "{jl:q:default}:jobs", "queued")
	do(t, c, "SET", "jl:version", "1")
	f.trimmed["{jl:q:default}:dead"] = true
	f.trimmed["{jl:q:default}:stats"] = true
	return f
}

func (f *fixture) opts() Options {
	return Options{Targets: AllTargets(), Now: f.now, DeadMaxJobs: deadCap, ProcessGrace: -1, Rate: 100_000, Pause: -1}
}

// snapshot is every key's DUMP and TTL.
func snapshot(t testing.TB, c rueidis.Client) map[string]string {
	t.Helper()
	out := map[string]string{}
	var cursor uint64
	for {
		e, err := c.Do(context.Background(), c.B().Scan().Cursor(cursor).Count(1000).Build()).AsScanEntry()
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range e.Elements {
			d, _ := do(t, c, "DUMP", k).ToString()
			ttl, _ := do(t, c, "PTTL", k).AsInt64()
			out[k] = fmt.Sprintf("%s ttl>0:%v", d, ttl > 0)
		}
		if cursor = e.Cursor; cursor == 0 {
			return out
		}
	}
}

func TestPlanChangesNothingAndCountsTheTargets(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv)
	f := fill(t, c)
	before := snapshot(t, c)

	res, err := Plan(context.Background(), c, f.opts())
	if err != nil {
		t.Fatal(err)
	}
	if after := snapshot(t, c); !maps.Equal(before, after) {
		t.Fatal("dry run changed the database")
	}
	if res.Applied {
		t.Fatal("Plan says applied")
	}
	want := map[Target]int64{}
	for k := range f.doomed {
		switch {
		case strings.HasPrefix(k, "b-"):
			want[SidekiqFailinfo]++
		case strings.HasPrefix(k, "{jl:b:"):
			want[Batches]++
		default:
			want[Processes]++
		}
	}
	for _, tr := range res.Targets {
		if tr.Keys != want[tr.Target] {
			t.Errorf("%s: %d keys would go, want %d (examples %v)", tr.Target, tr.Keys, want[tr.Target], tr.Examples)
		}
		if tr.KeptCount != f.kept[tr.Target] {
			t.Errorf("%s: %d findings, want at least %d: %+v", tr.Target, tr.KeptCount, f.kept[tr.Target], tr.Kept)
		}
	}
	fi := res.Lookup(SidekiqFailinfo)
	if fi.Bytes != f.failinfoBytes {
		t.Errorf("failinfo bytes %d, want %d (MEMORY USAGE sum)", fi.Bytes, f.failinfoBytes)
	}
	if got := res.Lookup(DeadJobs).Members; got != deadDefault-deadCap {
		t.Errorf("dead jobs to drop %d, want %d", got, deadDefault-deadCap)
	}
	if got := res.Lookup(Batches).Members; got != prunedIndex {
		t.Errorf("index entries to prune %d, want %d", got, prunedIndex)
	}
	var wipReported bool
	for _, k := range res.Lookup(Processes).Kept {
		if k.Key == "{jl:q:default}:wip:p9" && k.Count == 2 {
			wipReported = true
		}
	}
	if !wipReported {
		t.Errorf("the in-flight jobs of unregistered p9 are not reported: %+v", res.Lookup(Processes).Kept)
	}
	t.Logf("dry run: %+v", res.Targets)

	// With the default grace, a fresh jl:proc hash is not touched.
	o := f.opts()
	o.ProcessGrace = 0
	res, err = Plan(context.Background(), c, o)
	if err != nil {
		t.Fatal(err)
	}
	if n := res.Lookup(Processes).Keys; n != 0 {
		t.Fatalf("process grace: %d keys would go", n)
	}
}

// checkApplied checks that exactly the doomed keys are gone, the trimmed
// ones are trimmed as expected, and everything else is byte for byte as it
// was.
func checkApplied(t *testing.T, c rueidis.Client, f *fixture, before map[string]string) {
	t.Helper()
	after := snapshot(t, c)
	for k, v := range before {
		got, ok := after[k]
		switch {
		case f.doomed[k]:
			if ok {
				t.Errorf("%s survived", k)
			}
		case f.trimmed[k]:
			if !ok {
				t.Errorf("%s was removed", k)
			}
		case !ok:
			t.Errorf("%s was removed, but is no target", k)
		case got != v:
			t.Errorf("%s changed, but is no target", k)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			t.Errorf("cleanup created %s", k)
		}
	}
	if n, _ := do(t, c, "ZCARD", "{jl:q:default}:dead").AsInt64(); n != deadCap {
		t.Errorf("dead set holds %d, want %d", n, deadCap)
	}
	if oldest, _ := do(t, c, "ZRANGE", "{jl:q:default}:dead", "0", "0").AsStrSlice(); len(oldest) != 1 || oldest[0] != fmt.Sprintf("job-%04d", deadDefault-deadCap) {
		t.Errorf("oldest dead job left is %v: the newest must stay", oldest)
	}
	stats, _ := do(t, c, "HGETALL", "{jl:q:default}:stats").AsStrMap()
	if stats["dead_dropped"] != strconv.Itoa(deadDefault-deadCap) || stats["dead_bytes"] != strconv.Itoa(deadCap*8) || stats["processed"] != "5000" {
		t.Errorf("stats after trim: %v", stats)
	}
	idx, _ := do(t, c, "ZRANGE", "jl:batches", "0", "-1").AsStrSlice()
	slices.Sort(idx)
	// Entries of removed batches and of orphans go; gone-just-now is in
	// its grace period.
	want := []string{"bad-time", "cancelled-dead", "gone-just-now", "running", "running-nottl", "success-recent", "success-ttl"}
	if !slices.Equal(idx, want) {
		t.Errorf("jl:batches after prune: %v\nwant %v", idx, want)
	}
}

func TestApplyRemovesExactlyTheTargets(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv)
	f := fill(t, c)
	before := snapshot(t, c)
	usedBefore, _ := srv.Info("used_memory")

	o := f.opts()
	o.Apply = true
	res, err := Run(context.Background(), c, o)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Applied {
		t.Fatal("not applied")
	}
	checkApplied(t, c, f, before)
	if got := res.Lookup(SidekiqFailinfo).Keys; got != failinfoBIDs {
		t.Errorf("removed %d failinfo hashes, want %d", got, failinfoBIDs)
	}
	if got := res.Lookup(DeadJobs).Members; got != deadDefault-deadCap {
		t.Errorf("dropped %d dead jobs, want %d", got, deadDefault-deadCap)
	}
	if got := res.Lookup(Batches).Members; got != prunedIndex {
		t.Errorf("pruned %d index entries, want %d", got, prunedIndex)
	}
	usedAfter, _ := srv.Info("used_memory")
	t.Logf("applied in %v: %+v; used_memory %s -> %s", res.Elapsed, res.Targets, usedBefore, usedAfter)

	// A second run finds nothing left to do.
	again, err := Run(context.Background(), c, o)
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range again.Targets {
		if tr.Keys != 0 || tr.Members != 0 {
			t.Errorf("second run: %s removed %d keys %d members", tr.Target, tr.Keys, tr.Members)
		}
	}
	checkApplied(t, c, f, before)
}

func TestResumeAfterInterruption(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv)
	f := fill(t, c)
	before := snapshot(t, c)

	o := f.opts()
	o.Apply = true
	o.ChunkSize = 5
	o.ScanCount = 20
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	o.Progress = func(p Progress) {
		if p.Keys >= 10 {
			cancel()
		}
	}
	res, err := Run(ctx, c, o)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v", err)
	}
	var removed int64
	for _, tr := range res.Targets {
		removed += tr.Keys
	}
	if removed < 10 || removed >= int64(len(f.doomed)) {
		t.Fatalf("interrupted run removed %d of %d keys: not mid-way", removed, len(f.doomed))
	}
	left := 0
	for k := range f.doomed {
		if n, _ := do(t, c, "EXISTS", k).AsInt64(); n == 1 {
			left++
		}
	}
	if left == 0 {
		t.Fatal("nothing left after the interruption")
	}

	o.Progress = nil
	if _, err := Run(context.Background(), c, o); err != nil {
		t.Fatal(err)
	}
	checkApplied(t, c, f, before)
	t.Logf("interrupted after %d keys removed (%d left), resumed to the same end state", removed, left)
}

func TestRateLimit(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv)
	for i := 0; i < 60; i++ {
		do(t, c, "HSET", fmt.Sprintf("b-bid%02d-failinfo", i), fmt.Sprintf("%024x", i), `["E","err"]`)
	}
	start := time.Now()
	res, err := Run(context.Background(), c, Options{Targets: []Target{SidekiqFailinfo}, Apply: true, Rate: 100, ChunkSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	// 60 keys at 100/s: the first chunk goes at once, the last at 0.5s.
	if el := time.Since(start); res.Lookup(SidekiqFailinfo).Keys != 60 || el < 500*time.Millisecond {
		t.Fatalf("removed %d keys in %v: faster than 100 keys/s", res.Lookup(SidekiqFailinfo).Keys, el)
	}
}

func TestOptionsAreChecked(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv)
	for _, o := range []Options{
		{},
		{Targets: []Target{"everything"}},
		{Targets: []Target{DeadJobs}},
		{Targets: []Target{Batches}, Rate: -1},
	} {
		if _, err := Run(context.Background(), c, o); err == nil {
			t.Errorf("Run(%+v) accepted", o)
		}
	}
}
