package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/redistest"
)

func open(t *testing.T, opts Options) *Store {
	t.Helper()
	s, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", redis.RedactURL(opts.URL), err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestOpenOwnedFileGoesThroughOwner: the first Open of a file owns it; a
// second Open of the same address (another process, in life) goes through
// the owner's endpoint, and what one side enqueues the other fetches.
func TestOpenOwnedFileGoesThroughOwner(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "jobs.db")
	owner := open(t, Options{URL: "file:" + path})
	if owner.Bolt == nil || owner.Remote != nil || owner.Kind != KindFile || owner.Path != path {
		t.Fatalf("first Open = %+v, want the file opened", owner)
	}
	other := open(t, Options{URL: "file:" + path})
	if other.Remote == nil || other.Bolt != nil || other.Kind != KindFile || !strings.Contains(other.Desc, "through pid") {
		t.Fatalf("second Open = %+v, want the owner's endpoint", other)
	}
	job := &backend.Job{ID: "j1", Queue: "default", Kind: "k", Args: []byte(`{}`), CreatedAt: time.Now()}
	if _, err := other.Backend.Enqueue(ctx, []*backend.Job{job}); err != nil {
		t.Fatalf("Enqueue through the owner: %v", err)
	}
	if err := owner.Backend.Heartbeat(ctx, backend.ProcessInfo{ID: "p"}, time.Hour); err != nil {
		t.Fatal(err)
	}
	fr, err := owner.Backend.Fetch(ctx, backend.FetchParams{Proc: "p", Queues: []string{"default"}, Max: 10})
	got := fr.Jobs
	if err != nil || len(got) != 1 || got[0].ID != "j1" {
		t.Fatalf("the owner fetched %v, %v; want j1", got, err)
	}
	// NoRemote refuses to go through the owner.
	if _, err := Open(ctx, Options{URL: "file:" + path, NoRemote: true}); !errors.Is(err, backend.ErrLocked) {
		t.Fatalf("Open with NoRemote of an owned file: %v, want ErrLocked", err)
	}
}

// TestOpenBarePathAndFileURL: a bare path and file:///abs name a file.
func TestOpenBarePathAndFileURL(t *testing.T) {
	dir := t.TempDir()
	if s := open(t, Options{URL: filepath.Join(dir, "a.db")}); s.Bolt == nil {
		t.Fatalf("bare path: %+v", s)
	}
	if s := open(t, Options{URL: "file://" + filepath.Join(dir, "b.db")}); s.Bolt == nil || s.Path != filepath.Join(dir, "b.db") {
		t.Fatalf("file:// URL: %+v", s)
	}
}

// TestOpenRedis: redis:// and redis-sentinel:// open Redis.
func TestOpenRedis(t *testing.T) {
	master := redistest.Start(t)
	s := open(t, Options{URL: master.URL})
	if s.Redis == nil || s.Kind != KindRedis || s.Desc != "redis "+master.URL {
		t.Fatalf("Open(redis://) = %+v", s)
	}
	sentinel := redistest.StartSentinel(t, master)
	if s := open(t, Options{URL: sentinel.URL}); s.Redis == nil {
		t.Fatalf("Open(redis-sentinel://) = %+v", s)
	}
	// rediss:// (TLS) is parsed the same way; no TLS server here.
	if kind, _, err := Parse("rediss://user:pw@localhost:6380/0"); err != nil || kind != KindRedis {
		t.Fatalf("Parse(rediss://) = %q, %v", kind, err)
	}
}

// TestOpenBadURLs: an unreadable address is refused with ErrBadURL, and
// the error never shows the password.
func TestOpenBadURLs(t *testing.T) {
	const secret = "s3cr3t"
	for _, url := range []string{
		"",
		"http://user:" + secret + "@host:1",
		"redis:" + secret, // no //
		"postgres://u:" + secret + "@db/x",
		"redis://u:" + secret + "%zz@host:1",
		"redis://u:" + secret + "@host:notaport",
		"redis-sentinel://u:" + secret + "@host:26379",
		"redis://u:" + secret + "/x@host:1",
		"file:",
		"file://host/x.db",
		"localhost:6379",
	} {
		_, err := Open(context.Background(), Options{URL: url})
		if !errors.Is(err, ErrBadURL) {
			t.Errorf("Open(%q): %v, want ErrBadURL", strings.ReplaceAll(url, secret, "xxxxx"), err)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("the error of a bad address shows its password: %v", err)
		}
	}
}

// TestOpenUnreachableRedis: a Redis that is down is an error, never a
// file, and the error shows no password.
func TestOpenUnreachableRedis(t *testing.T) {
	srv := redistest.Start(t)
	srv.Stop()
	url := strings.Replace(srv.URL, "redis://", "redis://u:s3cr3t@", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := Open(ctx, Options{URL: url})
	if err == nil || !strings.Contains(err.Error(), "never replaced by the embedded file") || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("Open of a stopped Redis: %v", err)
	}
}

// TestOpenPrefix: a key prefix, given as an option or in the URL, reaches
// the Redis backend and shows in Desc; a bad one is refused with
// redis.ErrBadPrefix, and a file store takes none.
func TestOpenPrefix(t *testing.T) {
	srv := redistest.Start(t)
	for _, opts := range []Options{{URL: srv.URL, Prefix: "app1"}, {URL: srv.URL + "/0?prefix=app1"}} {
		s := open(t, opts)
		if s.Redis.Prefix() != "app1" || !strings.HasSuffix(s.Desc, " (prefix app1)") {
			t.Errorf("Open(%+v): prefix %q, desc %q", opts, s.Redis.Prefix(), s.Desc)
		}
	}
	if _, err := Open(context.Background(), Options{URL: srv.URL, Prefix: "{app1}"}); !errors.Is(err, redis.ErrBadPrefix) {
		t.Errorf("Open with prefix {app1}: %v, want ErrBadPrefix", err)
	}
	if _, _, err := Parse(srv.URL + "/0?prefix=a:b"); !errors.Is(err, ErrBadURL) || !errors.Is(err, redis.ErrBadPrefix) {
		t.Errorf("Parse with ?prefix=a:b: %v, want ErrBadURL and ErrBadPrefix", err)
	}
	path := filepath.Join(t.TempDir(), "jobs.db")
	if _, err := Open(context.Background(), Options{URL: "file:" + path, Prefix: "app1"}); !errors.Is(err, ErrBadURL) {
		t.Errorf("Open(file, prefix): %v, want ErrBadURL", err)
	}
}
