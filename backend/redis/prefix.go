package redis

import (
	"errors"
	"fmt"

	"github.com/joblot/joblot/internal/rediskeys"
)

// ErrBadPrefix is wrapped by the error of a key prefix the backend
// refuses: empty when given, longer than 64 bytes, or holding anything but
// ASCII letters, digits, '_', '.' and '-' (a brace would move the keys'
// Cluster hash tag, a colon or a glob character would let one prefix's
// keys parse or match as another's).
var ErrBadPrefix = errors.New("joblot/redis: bad key prefix")

// DefaultPrefix starts every key name when no prefix is chosen.
const DefaultPrefix = rediskeys.DefaultPrefix

// prefixParam is the URL query parameter that may name the key prefix
// (redis://host:6379/0?prefix=app1).
const prefixParam = "prefix"

// KeyPrefix returns the key prefix a backend opened with URL rawURL and
// Options.Prefix prefix uses: prefix, else the URL's ?prefix=, else
// DefaultPrefix. It is the one place that decides it, for Open, Migrate
// and the tools that walk the keyspace on a client of their own (the
// joblot command's memory and cleanup). A prefix given both ways must be
// the same. Errors wrap ErrBadPrefix (and ErrBadURL for a URL that does
// not parse).
func KeyPrefix(rawURL, prefix string) (string, error) {
	l, err := layoutOf(rawURL, prefix)
	if err != nil {
		return "", err
	}
	return l.Prefix(), nil
}

// layoutOf is the key layout of KeyPrefix(rawURL, prefix).
func layoutOf(rawURL, prefix string) (rediskeys.Layout, error) {
	fromURL, inURL, err := urlPrefix(rawURL)
	if err != nil {
		return rediskeys.Layout{}, fmt.Errorf("%w %s: %w", ErrBadURL, RedactURL(rawURL), err)
	}
	switch {
	case prefix == "" && inURL:
		prefix = fromURL
	case prefix != "" && inURL && prefix != fromURL:
		return rediskeys.Layout{}, fmt.Errorf("%w: the prefix option (%q) and the URL's ?%s= (%q) differ: give one", ErrBadPrefix, clip(prefix), prefixParam, clip(fromURL))
	}
	return newLayout(prefix)
}

// newLayout is rediskeys.New with its error wrapping ErrBadPrefix.
func newLayout(prefix string) (rediskeys.Layout, error) {
	l, err := rediskeys.New(prefix)
	if err != nil {
		return rediskeys.Layout{}, fmt.Errorf("%w: %w", ErrBadPrefix, err)
	}
	return l, nil
}

// urlPrefix returns the ?prefix= of raw ("" meaning defaultURL), checked:
// set is false when the URL has none. An empty or repeated one is refused.
func urlPrefix(raw string) (prefix string, set bool, err error) {
	if raw == "" {
		return "", false, nil
	}
	u, err := splitURL(raw)
	if err != nil {
		return "", false, err
	}
	vals, set := u.Query()[prefixParam]
	if !set {
		return "", false, nil
	}
	if len(vals) != 1 {
		return "", false, fmt.Errorf("%w: ?%s= given %d times", ErrBadPrefix, prefixParam, len(vals))
	}
	if vals[0] == "" {
		return "", false, fmt.Errorf("%w: ?%s= is empty (leave it out for the default %q)", ErrBadPrefix, prefixParam, DefaultPrefix)
	}
	if _, err := newLayout(vals[0]); err != nil {
		return "", false, err
	}
	return vals[0], true, nil
}

// clip bounds a prefix shown in an error (a refused one may be long).
func clip(s string) string {
	const max = 80
	if len(s) > max {
		return s[:max] + "..."
	}
	return s
}

// Prefix returns the key prefix of every key the backend writes.
func (b *Backend) Prefix() string { return b.keys.Prefix() }
