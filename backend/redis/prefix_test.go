package redis

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/redistest"
)

func TestKeyPrefix(t *testing.T) {
	for _, tc := range []struct{ url, prefix, want string }{
		{"", "", DefaultPrefix},
		{"redis://h:1", "", DefaultPrefix},
		{"redis://h:1", "jl", DefaultPrefix},
		{"redis://h:1", "app2", "app2"},
		{"redis://h:1/0?prefix=app1", "", "app1"},
		{"redis://u:pw@h:1/0?prefix=app1", "app1", "app1"},
		{"redis://h:1?addr=h:2&prefix=a.b-c_D9", "", "a.b-c_D9"},
		{"redis-sentinel://s1:26379,s2:26380/mymaster?db=2&prefix=app3", "", "app3"},
		{"rediss://h:1/1?prefix=" + strings.Repeat("x", 64), "", strings.Repeat("x", 64)},
	} {
		got, err := KeyPrefix(tc.url, tc.prefix)
		if err != nil || got != tc.want {
			t.Errorf("KeyPrefix(%q, %q) = %q, %v; want %q", tc.url, tc.prefix, got, err, tc.want)
		}
	}
}

// TestKeyPrefixRefusesBadPrefixes checks every prefix that would break a
// hash tag, a key's parse or a SCAN pattern, given as the option or in the
// URL: each is refused with an error wrapping ErrBadPrefix (and ErrBadURL
// for the URL, whose parse refuses it too), and the URL's password never
// shows.
func TestKeyPrefixRefusesBadPrefixes(t *testing.T) {
	bad := []string{"{", "}", "a{b}", "{jl}", ":", "::", "a:b", " ", "a b", "\t", "a\nb", "caf\u00e9", "a\xffb", "*", "a?", "[a]", `a\b`, strings.Repeat("x", 65)}
	for _, p := range bad {
		if _, err := KeyPrefix("redis://h:1", p); !errors.Is(err, ErrBadPrefix) {
			t.Errorf("KeyPrefix with option %q: %v, want ErrBadPrefix", p, err)
		}
		u := "redis://u:s3cret@h:1/0?prefix=" + url.QueryEscape(p)
		_, err := KeyPrefix(u, "")
		if !errors.Is(err, ErrBadPrefix) || !errors.Is(err, ErrBadURL) {
			t.Errorf("KeyPrefix with ?prefix=%q: %v, want ErrBadPrefix and ErrBadURL", p, err)
		}
		if _, perr := ParseURL(u); !errors.Is(perr, ErrBadPrefix) {
			t.Errorf("ParseURL with ?prefix=%q: %v, want ErrBadPrefix", p, perr)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret") {
			t.Errorf("error shows the password: %v", err)
		}
	}
	for _, u := range []string{"redis://h:1/0?prefix=", "redis://h:1/0?prefix=a&prefix=b", "redis://h:1/0?prefix=a&prefix=a"} {
		if _, err := KeyPrefix(u, ""); !errors.Is(err, ErrBadPrefix) {
			t.Errorf("KeyPrefix(%q): %v, want ErrBadPrefix", u, err)
		}
	}
	if _, err := KeyPrefix("redis://h:1/0?prefix=app1", "app2"); !errors.Is(err, ErrBadPrefix) || !strings.Contains(err.Error(), "differ") {
		t.Errorf("conflicting prefixes: %v, want ErrBadPrefix saying they differ", err)
	}
}

// TestOpenRefusesBadPrefixWritingNothing checks that Open refuses a bad
// prefix before it writes anything (not even the data-model version).
func TestOpenRefusesBadPrefixWritingNothing(t *testing.T) {
	srv := redistest.Start(t)
	for _, o := range []Options{
		{URL: srv.URL, Prefix: "a{b}"},
		{URL: srv.URL, Prefix: "a:b"},
		{URL: srv.URL + "/0?prefix=%7Bx%7D"},
		{URL: srv.URL + "/0?prefix=app1", Prefix: "app2"},
	} {
		b, err := Open(context.Background(), o)
		if err == nil {
			b.Close()
			t.Errorf("Open(%+v) accepted", o)
			continue
		}
		if !errors.Is(err, ErrBadPrefix) {
			t.Errorf("Open(%+v): %v, want ErrBadPrefix", o, err)
		}
	}
	if n, err := srv.Do("DBSIZE"); err != nil || n != "0" {
		t.Fatalf("DBSIZE after refused opens = %s, %v; want 0", n, err)
	}
	b, err := Open(context.Background(), Options{URL: srv.URL, Prefix: "app1"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if v, err := srv.Do("EXISTS", "app1:version"); err != nil || v != "1" {
		t.Fatalf("app1:version after Open with prefix app1: %s, %v", v, err)
	}
	if v, err := srv.Do("EXISTS", "jl:version"); err != nil || v != "0" {
		t.Fatalf("jl:version after Open with prefix app1: %s, %v", v, err)
	}
}

// TestMigrateOnePrefix migrates the data model 1 store of one prefix and
// leaves another prefix's, also at data model 1, as it was: its version
// and its batches' error groups stay unindexed.
func TestMigrateOnePrefix(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	open := func(prefix string) *Backend {
		b, err := Open(ctx, Options{URL: srv.URL, Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { b.Close() })
		newTestBatch(t, b, "old", 4)
		v1Groups(t, b, "old", 3, 0)
		if _, err := srv.Do("SET", b.keys.Version(), "1"); err != nil {
			t.Fatal(err)
		}
		return b
	}
	def, app2 := open(""), open("app2")
	rep, err := Migrate(ctx, Options{URL: srv.URL + "/0?prefix=app2"}, backend.MigrateOptions{})
	if err != nil || !rep.Applied || rep.Version != 1 || !strings.Contains(rep.Store, "prefix app2") {
		t.Fatalf("migrate app2: %+v, %v", rep, err)
	}
	for _, tc := range []struct {
		b            *Backend
		version      string
		indexedCount string
	}{{app2, itoa(backend.DataModelVersion), "1"}, {def, "1", "0"}} {
		if v, _ := srv.Do("GET", tc.b.keys.Version()); v != tc.version {
			t.Errorf("%s: version %s after migrating app2, want %s", tc.b.keys.Version(), v, tc.version)
		}
		if n, _ := srv.Do("EXISTS", tc.b.keys.BatchKeys("old")[8]); n != tc.indexedCount {
			t.Errorf("%s: EXISTS errc = %s, want %s", tc.b.keys.Prefix(), n, tc.indexedCount)
		}
	}
}
