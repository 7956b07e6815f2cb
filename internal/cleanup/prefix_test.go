package cleanup

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/internal/rediskeys"
	"github.com/joblot/joblot/internal/redistest"
)

// TestPrefixesAreCleanedApart copies the default prefix's fixture under a
// second prefix, app2, and cleans each in turn: a cleanup of one prefix
// (dry run or applied) leaves every key of the other exactly as it was,
// and does to its own keys just what the other's cleanup did to its own.
func TestPrefixesAreCleanedApart(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	c := newClient(t, srv)
	f := fill(t, c)
	def, err := rediskeys.New("")
	if err != nil {
		t.Fatal(err)
	}
	app2, err := rediskeys.New("app2")
	if err != nil {
		t.Fatal(err)
	}
	// rename maps a key of the default prefix to app2's.
	rename := func(k string) string {
		if rest, ok := strings.CutPrefix(k, "{jl:"); ok {
			return "{app2:" + rest
		}
		return "app2:" + strings.TrimPrefix(k, "jl:")
	}
	for k := range snapshot(t, c) {
		if !def.Owns(k) {
			continue
		}
		dump, _ := do(t, c, "DUMP", k).ToString()
		ttl, _ := do(t, c, "PTTL", k).AsInt64()
		do(t, c, "RESTORE", rename(k), strconv.FormatInt(max(ttl, 0), 10), dump)
	}
	// state returns the content of every key of layout l, named as the
	// default prefix's, so the two prefixes' states compare (by content:
	// DUMP's order of a big hash's fields is the server's, not the data's).
	state := func(l rediskeys.Layout) map[string]string {
		out := map[string]string{}
		for k := range snapshot(t, c) {
			if !l.Owns(k) {
				continue
			}
			v := content(t, c, k)
			if l == app2 {
				k = "jl" + strings.TrimPrefix(strings.TrimPrefix(k, "{"), "app2")
				if strings.HasPrefix(k, "jl:q:") || strings.HasPrefix(k, "jl:b:") {
					k = "{" + k
				}
			}
			out[k] = v
		}
		return out
	}
	startDef, startApp2 := state(def), state(app2)
	if len(startDef) < 20 || !maps.Equal(startDef, startApp2) {
		t.Fatalf("fixture: %d keys of jl and %d of app2, not alike", len(startDef), len(startApp2))
	}
	start := snapshot(t, c)

	o := f.opts()
	o.Keys = app2
	if _, err := Plan(ctx, c, o); err != nil {
		t.Fatal(err)
	}
	if after := snapshot(t, c); !maps.Equal(after, start) {
		t.Fatal("a dry run of app2 changed the database")
	}
	o.Apply = true
	if _, err := Run(ctx, c, o); err != nil {
		t.Fatal(err)
	}
	midApp2 := state(app2)
	if !maps.Equal(state(def), startDef) {
		t.Error("cleaning app2 changed keys of jl")
	}
	if maps.Equal(midApp2, startApp2) {
		t.Error("cleaning app2 changed none of its keys")
	}
	// Sidekiq's failinfo hashes belong to no prefix: the first run took
	// them. The default prefix's run now does to jl what app2's did to
	// app2, and leaves app2 alone.
	o.Keys = def
	if _, err := Run(ctx, c, o); err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(state(app2), midApp2) {
		t.Error("cleaning jl changed keys of app2")
	}
	endDef := state(def)
	for k, v := range endDef {
		if midApp2[k] != v {
			t.Errorf("jl and app2 cleaned differently: %s: %.80q vs %.80q", k, v, midApp2[k])
		}
	}
	for k := range midApp2 {
		if _, ok := endDef[k]; !ok {
			t.Errorf("jl and app2 cleaned differently: app2 kept %s, jl did not", k)
		}
	}
}

// content is key k's type, elements in a canonical order, and whether it
// has a TTL.
func content(t *testing.T, c rueidis.Client, k string) string {
	t.Helper()
	typ, _ := do(t, c, "TYPE", k).ToString()
	var elems []string
	switch typ {
	case "string":
		v, _ := do(t, c, "GET", k).ToString()
		elems = []string{v}
	case "list":
		elems, _ = do(t, c, "LRANGE", k, "0", "-1").AsStrSlice()
	case "set":
		elems, _ = do(t, c, "SMEMBERS", k).AsStrSlice()
	case "zset":
		elems, _ = do(t, c, "ZRANGE", k, "0", "-1", "WITHSCORES").AsStrSlice()
	case "hash":
		m, _ := do(t, c, "HGETALL", k).AsStrMap()
		for f, v := range m {
			elems = append(elems, f+"="+v)
		}
	default:
		t.Fatalf("%s: unexpected type %s", k, typ)
	}
	if typ == "set" || typ == "hash" {
		slices.Sort(elems)
	}
	ttl, _ := do(t, c, "PTTL", k).AsInt64()
	return fmt.Sprintf("%s %q ttl>0:%v", typ, elems, ttl > 0)
}
