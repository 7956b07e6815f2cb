package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/redis/rueidis"
	"github.com/spf13/pflag"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/bolt"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/backend/remote"
	"github.com/joblot/joblot/internal/rediskeys"
	jlstore "github.com/joblot/joblot/store"
)

// redisURLEnv names the environment variable that selects Redis.
const redisURLEnv = "JOBLOT_REDIS_URL"

// defaultDBPath is the embedded store used when no Redis is configured.
const defaultDBPath = "./joblot.db"

// maxURLFileBytes bounds what --redis-url-file reads: a URL is short, and
// a wrong path (a log, a device) must not be read whole.
const maxURLFileBytes = 64 << 10

// storeFlags select the backend, the same way in every command.
type storeFlags struct {
	redisURL      string
	redisURLFile  string
	dbPath        string
	allowEviction bool
	allowOwner    string
	prefix        string
	fs            *pflag.FlagSet
	// warn receives warnings about the choice (a URL file others can
	// read); nil discards them.
	warn io.Writer
}

func (f *storeFlags) register(fs *pflag.FlagSet) {
	f.fs = fs
	fs.StringVar(&f.redisURL, "redis", "", "Redis URL (redis://, rediss://, redis-sentinel://); default $"+redisURLEnv+
		". A URL with a password shows in ps and shell history: give it in $"+redisURLEnv+" or --redis-url-file instead"+
		" (percent-encode / ? # @ % in the password)")
	fs.StringVar(&f.redisURLFile, "redis-url-file", "", "read the Redis URL from this file (surrounding whitespace is ignored), to keep its password out of ps; it should be readable by its owner only")
	fs.StringVar(&f.dbPath, "db", defaultDBPath, "embedded store file, used when no Redis is configured")
	fs.BoolVar(&f.allowEviction, "allow-eviction", false, "use a Redis whose maxmemory-policy is not noeviction (it may silently lose jobs)")
	fs.StringVar(&f.prefix, "prefix", "", "Redis key prefix of the application to work on (default "+redis.DefaultPrefix+
		", or the URL's ?prefix=); applications that share one Redis or Cluster each use their own")
	fs.StringVar(&f.allowOwner, "allow-owner", "", "trust an embedded store file (and its owner's local endpoint) that belongs to this user (name or uid) besides yourself")
}

// storeChoice is the resolved backend selection.
type storeChoice struct {
	// redisURL is set when Redis is selected.
	redisURL string
	// dbPath is the file otherwise; dbExplicit says --db was given.
	dbPath     string
	dbExplicit bool
	// allowOwner is the other user whose file and endpoint are trusted.
	allowOwner string
	// prefix is the Redis key prefix of --prefix ("": the URL's, or the
	// default).
	prefix string
}

// choose resolves the flags and the environment: --redis, else
// $JOBLOT_REDIS_URL unless --db was given explicitly, else the file.
func (f *storeFlags) choose(getenv func(string) string) (storeChoice, error) {
	c, err := f.chooseStore(getenv)
	if err != nil {
		return c, err
	}
	if f.fs != nil && f.fs.Changed("prefix") {
		if c.redisURL == "" {
			return storeChoice{}, errors.New("--prefix applies to Redis only (--redis URL or $" + redisURLEnv + "); the embedded store has no key prefix")
		}
		if f.prefix == "" {
			return storeChoice{}, fmt.Errorf("--prefix is empty: leave it out for the default %q", redis.DefaultPrefix)
		}
		c.prefix = f.prefix
	}
	if c.redisURL != "" {
		// Checked here, before any command connects: a bad or
		// conflicting prefix must not reach Redis at all.
		if _, err := redis.KeyPrefix(c.redisURL, c.prefix); err != nil {
			return storeChoice{}, err
		}
	}
	return c, nil
}

// chooseStore picks Redis or the file, as choose describes.
func (f *storeFlags) chooseStore(getenv func(string) string) (storeChoice, error) {
	dbExplicit := f.fs != nil && f.fs.Changed("db")
	switch {
	case f.redisURL != "" && f.redisURLFile != "":
		return storeChoice{}, errors.New("--redis and --redis-url-file both given: choose one")
	case f.redisURL != "" && dbExplicit:
		return storeChoice{}, errors.New("--redis and --db both given: choose one store")
	case f.redisURLFile != "" && dbExplicit:
		return storeChoice{}, errors.New("--redis-url-file and --db both given: choose one store")
	case f.redisURL != "":
		return storeChoice{redisURL: f.redisURL}, nil
	case f.redisURLFile != "":
		u, err := readURLFile(f.redisURLFile, f.warn)
		if err != nil {
			return storeChoice{}, err
		}
		return storeChoice{redisURL: u}, nil
	case !dbExplicit && getenv(redisURLEnv) != "":
		return storeChoice{redisURL: getenv(redisURLEnv)}, nil
	}
	if f.dbPath == "" {
		return storeChoice{}, errors.New("--db must not be empty")
	}
	return storeChoice{dbPath: f.dbPath, dbExplicit: dbExplicit, allowOwner: f.allowOwner}, nil
}

// readURLFile reads a Redis URL from path, trimmed of surrounding
// whitespace. It refuses a file anyone may write (whoever can write it
// chooses the Redis this command trusts, and sees its password) and warns
// about one others may read. Its errors never show the file's content.
func readURLFile(path string, warn io.Writer) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("--redis-url-file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("--redis-url-file: %w", err)
	}
	switch mode := fi.Mode(); {
	case !mode.IsRegular():
		return "", fmt.Errorf("--redis-url-file %s: not a regular file", path)
	case mode.Perm()&0o002 != 0:
		return "", fmt.Errorf("--redis-url-file %s: writable by any user (mode %v): chmod 600 it", path, mode.Perm())
	case mode.Perm()&0o044 != 0 && warn != nil:
		fmt.Fprintf(warn, "joblot: warning: --redis-url-file %s is readable by other users (mode %v), and with it the Redis password: chmod 600 it\n", cell(path), mode.Perm())
	}
	data, err := io.ReadAll(io.LimitReader(f, maxURLFileBytes+1))
	if err != nil {
		return "", fmt.Errorf("--redis-url-file %s: %w", path, err)
	}
	if len(data) > maxURLFileBytes {
		return "", fmt.Errorf("--redis-url-file %s: larger than %d bytes, not a URL", path, maxURLFileBytes)
	}
	u := strings.TrimSpace(string(data))
	if u == "" {
		return "", fmt.Errorf("--redis-url-file %s: holds no URL", path)
	}
	return u, nil
}

// store is an open backend and what the commands need to know about it.
// It is not a backend.Backend itself: wrapping one would hide the
// backend's optional interfaces (backend.Waiter, backend.MemoryReporter)
// from the server and the metrics, so commands pass store.Backend.
type store struct {
	// Backend is the concrete backend: *redis.Backend, *bolt.Backend or
	// the remote client's.
	Backend backend.Backend
	redis   *redis.Backend // set on Redis
	bolt    *bolt.Backend  // set on the embedded file opened by this process
	// remote is set when the embedded file is owned by another process
	// and the command runs through that owner's local endpoint.
	remote *remote.Client
	// desc says where the data is, for humans ("redis redis://host:6379").
	desc string
	// kind is "redis" or "file".
	kind string
	// path is the embedded store's file.
	path string
}

// Close closes the backend.
func (s *store) Close() error { return s.Backend.Close() }

// redisKeys is the key layout of the opened Redis backend (its prefix
// passed rediskeys.New when it opened, so this cannot fail).
func (s *store) redisKeys() rediskeys.Layout {
	l, _ := rediskeys.New(s.redis.Prefix())
	return l
}

// open opens the chosen store with store.Open, the function programs use
// too. A Redis that cannot be reached is an error, never a reason to use
// the file instead.
func (c storeChoice) open(ctx context.Context, allowEviction bool, logger *slog.Logger) (*store, error) {
	opts := jlstore.Options{AllowEviction: allowEviction, Logger: logger, AllowOwner: c.allowOwner, Prefix: c.prefix}
	if c.redisURL != "" {
		// --redis and its kin take Redis addresses only, never a file.
		if kind, _, err := jlstore.Parse(c.redisURL); err != nil || kind != jlstore.KindRedis {
			_, perr := redis.ParseURL(c.redisURL)
			if perr == nil {
				perr = fmt.Errorf("%w %s: not a Redis address", redis.ErrBadURL, redis.RedactURL(c.redisURL))
			}
			return nil, perr
		}
		opts.URL = c.redisURL
	} else {
		opts.URL = "file:" + c.dbPath
	}
	s, err := jlstore.Open(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &store{Backend: s.Backend, redis: s.Redis, bolt: s.Bolt, remote: s.Remote, desc: s.Desc, kind: s.Kind, path: s.Path}, nil
}

// openStore resolves the flags and opens the store.
func (a *app) openStore(ctx context.Context) (*store, error) {
	c, err := a.store.choose(a.getenv)
	if err != nil {
		return nil, err
	}
	s, err := c.open(ctx, a.store.allowEviction, a.logger())
	if err == nil && s.remote != nil {
		fmt.Fprintf(a.stderr, "joblot: using the running owner (pid %d) of %s through its local endpoint\n", s.remote.OwnerPID(), cell(c.dbPath))
	}
	return s, err
}

// redisClient connects to the chosen Redis without opening the joblot
// backend, for the commands that read or clean any Redis, joblot's or a
// legacy Sidekiq one (memory, cleanup, migrate). Opening the backend would
// write jl:version into a Redis that has none, and refuse one whose
// maxmemory-policy evicts: neither is right for a read-only report, nor
// for cleaning up a legacy Redis in a memory emergency.
func (c storeChoice) redisClient() (rueidis.Client, error) {
	opt, err := redis.ParseURL(c.redisURL)
	if err != nil {
		return nil, err
	}
	opt.DisableCache = true
	cl, err := rueidis.NewClient(opt)
	if err != nil {
		return nil, fmt.Errorf("redis %s: %w (a configured Redis is never replaced by the embedded file)", redis.RedactURL(c.redisURL), err)
	}
	return cl, nil
}

// keys is the key layout of the chosen Redis (--prefix, the URL's
// ?prefix=, or the default), for the commands that walk the keyspace on a
// client of their own: they report and clean that prefix's keys only.
func (c storeChoice) keys() (rediskeys.Layout, error) {
	p, err := redis.KeyPrefix(c.redisURL, c.prefix)
	if err != nil {
		return rediskeys.Layout{}, err
	}
	return rediskeys.New(p)
}

// inspect opens the chosen store, runs fn with an inspector on it and
// closes the store: the shape of every command that reads or changes jobs.
func (a *app) inspect(ctx context.Context, fn func(*joblot.Inspector, *store) error) error {
	s, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	return fn(joblot.NewInspector(s.Backend), s)
}
