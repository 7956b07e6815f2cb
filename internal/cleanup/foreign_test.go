package cleanup

import (
	"context"
	"maps"
	"strings"
	"testing"

	"github.com/joblot/joblot/internal/redistest"
)

// Keys named like a target's but of another type or shape belong to
// someone else: cleanup keeps them, reports them, and still does the rest
// of its work.
func TestForeignKeysAreKeptAndReported(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv)
	f := fill(t, c)

	// Named like Sidekiq Pro failinfo, but an application's cache hash.
	do(t, c, "HSET", "b-AppCache-failinfo", "user:1", `{"name":"ada"}`, "user:2", `{"name":"bob"}`)
	// jid fields, but the values are not JSON.
	do(t, c, "HSET", "b-Tokens-failinfo", "0123456789abcdef01234567", "plain text")
	// In a joblot batch tag, but no batch has such a key.
	do(t, c, "SET", "{jl:b:myapp}:session", "token")
	do(t, c, "SET", "{jl:b:\x1b[2J}:session", "escape")
	// A foreign string at a queue's dead set.
	do(t, c, "SET", "{jl:q:legacy}:dead", "not a zset")
	// A dead set whose queue's stats key is not a hash.
	do(t, c, "ZADD", "{jl:q:odd}:dead", "1", "a", "2", "b", "3", "c")
	do(t, c, "SET", "{jl:q:odd}:stats", "x")
	// A batch whose meta is a string: not judged, its keys stay.
	do(t, c, "SET", "{jl:b:strmeta}:meta", "x")
	do(t, c, "SADD", "{jl:b:strmeta}:kids", "child")
	// An orphan batch (no meta) with one key of the wrong type: that key
	// stays, the other goes.
	do(t, c, "HSET", "{jl:b:mixed}:bits", "f", "v")
	do(t, c, "SADD", "{jl:b:mixed}:kids", "child")
	f.doomed["{jl:b:mixed}:kids"] = true
	// A process info key of another type, for a process not in jl:procs.
	do(t, c, "SET", "jl:proc:p7", "x")

	foreign := map[string]Target{
		"b-AppCache-failinfo":      SidekiqFailinfo,
		"b-Tokens-failinfo":        SidekiqFailinfo,
		"{jl:b:myapp}:session":     Batches,
		`"{jl:b:\x1b[2J}:session"`: Batches, // as reported: escaped
		"{jl:q:legacy}:dead":       DeadJobs,
		"{jl:q:odd}:dead":          DeadJobs,
		"{jl:b:strmeta}:meta":      Batches,
		"{jl:b:mixed}:bits":        Batches,
		"jl:proc:p7":               Processes,
	}
	reported := func(res *Result) {
		t.Helper()
		for key, target := range foreign {
			found := false
			for _, k := range res.Lookup(target).Kept {
				found = found || k.Key == key
				if strings.ContainsRune(k.Key, 0x1b) || strings.ContainsRune(k.Reason, 0x1b) {
					t.Errorf("finding %q: %q carries a raw escape character", k.Key, k.Reason)
				}
			}
			if !found {
				t.Errorf("%s: foreign key %s not reported: %+v", target, key, res.Lookup(target).Kept)
			}
		}
	}

	before := snapshot(t, c)
	res, err := Plan(context.Background(), c, f.opts())
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	if after := snapshot(t, c); !maps.Equal(before, after) {
		t.Fatal("dry run changed the database")
	}
	reported(res)

	o := f.opts()
	o.Apply = true
	res, err = Run(context.Background(), c, o)
	if err != nil {
		t.Fatalf("apply: %v", err)
	}
	reported(res)
	// The real garbage is gone, everything else (the foreign keys among
	// it) is byte for byte as it was.
	checkApplied(t, c, f, before)
	if got := res.Lookup(SidekiqFailinfo).Keys; got != failinfoBIDs {
		t.Errorf("removed %d failinfo hashes, want %d", got, failinfoBIDs)
	}
}

func TestShownKey(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"{jl:q:default}:dead", "{jl:q:default}:dead"},
		{"b-Qw-1_z-failinfo", "b-Qw-1_z-failinfo"},
		{"clé", "clé"},
		{"a\x1b[31mb", `"a\x1b[31mb"`},
		{"bad\xff", `"bad\xff"`},
		{"bidi\u202e", `"bidi\u202e"`},
		{`"quoted"`, `"\"quoted\""`},
	} {
		if got := shownKey(c.in); got != c.want {
			t.Errorf("shownKey(%q) = %s, want %s", c.in, got, c.want)
		}
	}
	long := strings.Repeat("k", 10_000)
	if got := shownKey(long); len(got) > maxShownKey+40 || !strings.HasSuffix(got, "(10000 bytes)") {
		t.Errorf("shownKey of 10,000 bytes = %d bytes: %.60s...", len(got), got)
	}
}
