// Package store opens a joblot store from one address, the same way for a
// program and for the joblot command: Redis (redis://, rediss://,
// redis-sentinel://) or the embedded file (file:PATH, or a bare path).
//
// For a file it opens the file, or, when a running process already owns
// it, connects to that owner's local endpoint (backend/remote), so that
// the common shape "a web process enqueues, a worker process runs the
// jobs" works on one machine without Redis: whichever process opens the
// file first owns it, and the others go through it.
//
// Open lives in this package rather than in package joblot so that the
// root package stays written against backend.Backend alone: importing it
// does not link both backends' drivers (rueidis, bbolt) into every
// program.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/bolt"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/backend/remote"
)

// ErrBadURL is wrapped by the error of an address Open cannot read: an
// unknown scheme, an empty one, or a Redis URL that does not parse (which
// also wraps redis.ErrBadURL). The error never shows a password.
var ErrBadURL = errors.New("joblot: bad store address")

// Kinds of store.
const (
	KindRedis = "redis"
	KindFile  = "file"
)

// Options configure Open.
type Options struct {
	// URL addresses the store:
	//
	//	redis://[user:password@]host:port[/db]     Redis
	//	rediss://[user:password@]host:port[/db]    Redis over TLS
	//	redis-sentinel://[user:password@]host:port[,host:port...]/mastername[?db=N]
	//	file:PATH                                   the embedded file store
	//	PATH                                        the same, for a path with
	//	                                            no colon in it
	//
	// See redis.Options.URL for Redis Cluster, and for ?prefix=, the key
	// prefix. Required.
	URL string
	// Prefix is the Redis key prefix (see redis.Options.Prefix; default
	// redis.DefaultPrefix, "jl"). A file store has none: giving one with a
	// file address is an error.
	Prefix string
	// Limits are the dead set caps and stats retention (zero fields take
	// the defaults). A file owned by another process keeps its owner's.
	Limits backend.Limits
	// Logger receives warnings (default slog.Default()).
	Logger *slog.Logger
	// AllowEviction opens a Redis whose maxmemory-policy is not noeviction
	// (see redis.Options.AllowEviction). Default false.
	AllowEviction bool
	// AllowOwner names one more user whose store file, and whose running
	// owner's endpoint, Open trusts besides the process's own (see
	// bolt.Options.AllowOwner). Default "".
	AllowOwner string
	// NoRemote fails with an error wrapping backend.ErrLocked when a
	// running process owns the file, instead of going through it. Default
	// false.
	NoRemote bool
	// Now is the backend's clock (see redis.Options.Now and
	// bolt.Options.Now); nil means time.Now. A file reached through its
	// owner runs on the owner's clock.
	Now func() time.Time
}

// Store is an opened store. It is not a backend.Backend itself: a wrapper
// would hide the backend's optional interfaces (backend.Waiter,
// backend.MemoryReporter, backend.Quieter) from the server and the metrics;
// pass Store.Backend.
type Store struct {
	// Backend is the concrete backend: a *redis.Backend, a *bolt.Backend,
	// or the remote client of the file's owner.
	Backend backend.Backend
	// Kind is KindRedis or KindFile.
	Kind string
	// Desc says where the data is, for humans: "redis redis://host:6379"
	// (password redacted; "(prefix app1)" added for a key prefix other
	// than the default), "file jobs.db" or "file jobs.db (through pid
	// 1234)".
	Desc string
	// Path is the file of a file store.
	Path string
	// Redis, Bolt and Remote hold the concrete backend, one of them set:
	// Remote when the file is owned by another process and this Store
	// goes through it.
	Redis  *redis.Backend
	Bolt   *bolt.Backend
	Remote *remote.Client
}

// Close closes the backend (a remote client closes its connections; the
// owner's store stays open).
func (s *Store) Close() error { return s.Backend.Close() }

// Open opens the store opts.URL names. A Redis that cannot be reached is an
// error, never a reason to use a file.
func Open(ctx context.Context, opts Options) (*Store, error) {
	kind, path, err := Parse(opts.URL)
	if err != nil {
		return nil, err
	}
	if kind == KindRedis {
		return openRedis(ctx, opts)
	}
	if opts.Prefix != "" {
		return nil, fmt.Errorf("%w: a key prefix applies to Redis only; the file store %s has none", ErrBadURL, path)
	}
	return openFile(ctx, path, opts)
}

// Parse tells which kind of store url names, and the file's path for a
// file store. Its errors wrap ErrBadURL and never show a password.
func Parse(url string) (kind, path string, err error) {
	switch {
	case url == "":
		return "", "", fmt.Errorf("%w: empty (give redis://host:port, rediss://, redis-sentinel:// or file:PATH)", ErrBadURL)
	case strings.HasPrefix(url, "redis://"), strings.HasPrefix(url, "rediss://"), strings.HasPrefix(url, "redis-sentinel://"):
		if _, err := redis.ParseURL(url); err != nil {
			return "", "", fmt.Errorf("%w: %w", ErrBadURL, err)
		}
		return KindRedis, "", nil
	case strings.HasPrefix(url, "file:"):
		p := strings.TrimPrefix(url, "file:")
		if rest, ok := strings.CutPrefix(p, "//"); ok {
			// file:///abs/path: an empty host only.
			if !strings.HasPrefix(rest, "/") {
				return "", "", fmt.Errorf("%w: file:// takes an absolute path and no host (file:///var/lib/jobs.db, or file:jobs.db)", ErrBadURL)
			}
			p = rest
		}
		if p == "" {
			return "", "", fmt.Errorf("%w: file: with no path", ErrBadURL)
		}
		return KindFile, p, nil
	case !strings.Contains(url, ":"):
		return KindFile, url, nil
	}
	// Show the scheme only: what follows may hold a password.
	scheme, _, _ := strings.Cut(url, ":")
	if len(scheme) > 32 || strings.ContainsAny(scheme, "/@ \t") {
		scheme = "(unreadable)"
	}
	return "", "", fmt.Errorf("%w: scheme %q is none of redis, rediss, redis-sentinel, file (a file path with a colon in it needs file:PATH)", ErrBadURL, scheme)
}

func openRedis(ctx context.Context, opts Options) (*Store, error) {
	shown := redis.RedactURL(opts.URL)
	rb, err := redis.Open(ctx, redis.Options{URL: opts.URL, Prefix: opts.Prefix, Limits: opts.Limits, AllowEviction: opts.AllowEviction, Logger: opts.Logger, Now: opts.Now})
	if errors.Is(err, redis.ErrBadURL) || errors.Is(err, redis.ErrBadPrefix) {
		return nil, err // it shows the (redacted) URL or the prefix already
	}
	if err != nil {
		return nil, fmt.Errorf("redis %s: %w (a configured Redis is never replaced by the embedded file)", shown, err)
	}
	desc := "redis " + shown
	if p := rb.Prefix(); p != redis.DefaultPrefix {
		desc += " (prefix " + p + ")"
	}
	return &Store{Backend: rb, Redis: rb, Desc: desc, Kind: KindRedis}, nil
}

// openFile opens the embedded store at path, or, when another process owns
// it, connects to that process's local endpoint. A socket next to the file
// is tried first: when an owner answers there, the file is locked anyway,
// and asking first spares the wait for the lock. A file or endpoint of
// another user than ours (or AllowOwner's) is refused, never used.
func openFile(ctx context.Context, path string, opts Options) (*Store, error) {
	if !opts.NoRemote {
		if _, err := os.Lstat(remote.SocketPath(path)); err == nil {
			s, err := dialOwner(ctx, path, opts.AllowOwner)
			if err == nil || !errors.Is(err, remote.ErrNoOwner) {
				return s, err
			}
		}
	}
	bb, err := bolt.Open(path, bolt.Options{Limits: opts.Limits, Logger: opts.Logger, AllowOwner: opts.AllowOwner, Now: opts.Now})
	if err == nil {
		return &Store{Backend: bb, Bolt: bb, Desc: "file " + path, Kind: KindFile, Path: path}, nil
	}
	if !errors.Is(err, backend.ErrLocked) || opts.NoRemote {
		return nil, fmt.Errorf("embedded store %s: %w", path, err)
	}
	s, derr := dialOwner(ctx, path, opts.AllowOwner)
	if derr == nil {
		return s, nil
	}
	if errors.Is(derr, remote.ErrNoOwner) {
		return nil, fmt.Errorf("embedded store %s: %w; the process that holds it serves no local endpoint (%s), so nothing else can use the file while it runs: stop it, or use Redis to run several processes", path, err, remote.SocketPath(path))
	}
	return nil, fmt.Errorf("embedded store %s: %w; its owner's local endpoint failed: %w", path, err, derr)
}

// dialOwner connects to the process that owns the file at path.
func dialOwner(ctx context.Context, path, allowOwner string) (*Store, error) {
	rc, err := remote.Dialer{AllowOwner: allowOwner}.Dial(ctx, path)
	if err != nil {
		return nil, err
	}
	return &Store{Backend: rc.Backend(), Remote: rc, Desc: fmt.Sprintf("file %s (through pid %d)", path, rc.OwnerPID()), Kind: KindFile, Path: path}, nil
}
