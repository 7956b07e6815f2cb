package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"

	"github.com/spf13/pflag"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/bolt"
	"github.com/joblot/joblot/backend/redis"
)

// redisURLEnv names the environment variable that selects Redis.
const redisURLEnv = "JOBLOT_REDIS_URL"

// defaultDBPath is the embedded store used when no Redis is configured.
const defaultDBPath = "./joblot.db"

// storeFlags select the backend, the same way in every command.
type storeFlags struct {
	redisURL      string
	dbPath        string
	allowEviction bool
	fs            *pflag.FlagSet
}

func (f *storeFlags) register(fs *pflag.FlagSet) {
	f.fs = fs
	fs.StringVar(&f.redisURL, "redis", "", "Redis URL (redis://, rediss://, redis-sentinel://); default $"+redisURLEnv)
	fs.StringVar(&f.dbPath, "db", defaultDBPath, "embedded store file, used when no Redis is configured")
	fs.BoolVar(&f.allowEviction, "allow-eviction", false, "use a Redis whose maxmemory-policy is not noeviction (it may silently lose jobs)")
}

// storeChoice is the resolved backend selection.
type storeChoice struct {
	// redisURL is set when Redis is selected.
	redisURL string
	// dbPath is the file otherwise; dbExplicit says --db was given.
	dbPath     string
	dbExplicit bool
}

// choose resolves the flags and the environment: --redis, else
// $JOBLOT_REDIS_URL unless --db was given explicitly, else the file.
func (f *storeFlags) choose(getenv func(string) string) (storeChoice, error) {
	dbExplicit := f.fs != nil && f.fs.Changed("db")
	switch {
	case f.redisURL != "" && dbExplicit:
		return storeChoice{}, errors.New("--redis and --db both given: choose one store")
	case f.redisURL != "":
		return storeChoice{redisURL: f.redisURL}, nil
	case !dbExplicit && getenv(redisURLEnv) != "":
		return storeChoice{redisURL: getenv(redisURLEnv)}, nil
	}
	if f.dbPath == "" {
		return storeChoice{}, errors.New("--db must not be empty")
	}
	return storeChoice{dbPath: f.dbPath, dbExplicit: dbExplicit}, nil
}

// store is an open backend and what the commands need to know about it.
type store struct {
	backend.Backend
	redis *redis.Backend // set on Redis
	bolt  *bolt.Backend  // set on the embedded file
	// desc says where the data is, for humans ("redis redis://host:6379").
	desc string
	// kind is "redis" or "file".
	kind string
}

// open opens the chosen store. A Redis that cannot be reached is an error,
// never a reason to use the file instead.
func (c storeChoice) open(ctx context.Context, allowEviction bool, logger *slog.Logger) (*store, error) {
	if c.redisURL != "" {
		shown := redactURL(c.redisURL)
		rb, err := redis.Open(ctx, redis.Options{URL: c.redisURL, Limits: backend.Limits{}, AllowEviction: allowEviction, Logger: logger})
		if err != nil {
			return nil, fmt.Errorf("redis %s: %w (a configured Redis is never replaced by the embedded file)", shown, err)
		}
		return &store{Backend: rb, redis: rb, desc: "redis " + shown, kind: "redis"}, nil
	}
	bb, err := bolt.Open(c.dbPath, bolt.Options{Limits: backend.Limits{}, Logger: logger})
	if err != nil {
		if errors.Is(err, backend.ErrLocked) {
			return nil, fmt.Errorf("embedded store %s: %w; it is owned by a running process (use Redis to run several processes)", c.dbPath, err)
		}
		return nil, fmt.Errorf("embedded store %s: %w", c.dbPath, err)
	}
	return &store{Backend: bb, bolt: bb, desc: "file " + c.dbPath, kind: "file"}, nil
}

// openStore resolves the flags and opens the store.
func (a *app) openStore(ctx context.Context) (*store, error) {
	c, err := a.store.choose(a.getenv)
	if err != nil {
		return nil, err
	}
	return c.open(ctx, a.store.allowEviction, a.logger())
}

// redactURL hides a password in a URL shown to humans.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
