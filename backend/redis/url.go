package redis

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/redis/rueidis"
)

// ErrBadURL is wrapped by the errors of a Redis address that cannot be
// parsed. Such errors show the address with its password replaced by
// "xxxxx", or only its scheme when the address is too malformed to tell
// the password from the rest.
var ErrBadURL = errors.New("joblot/redis: bad URL")

// defaultURL is the address "" stands for.
const defaultURL = "redis://127.0.0.1:6379"

// encodeHint tells how to write a password that breaks a URL.
const encodeHint = "a password containing / ? # @ % must be percent-encoded (%2F %3F %23 %40 %25)"

// ParseURL turns a Redis address in one of the forms Options.URL accepts
// into rueidis client options; "" means redis://127.0.0.1:6379. Tools that
// talk to a joblot Redis without opening a Backend (memory reports,
// cleanup of a legacy Sidekiq Redis) use it to accept the same addresses.
// Errors never carry the password: they wrap ErrBadURL and show the
// address as RedactURL does.
func ParseURL(raw string) (rueidis.ClientOption, error) {
	if raw == "" {
		raw = defaultURL
	}
	// Checked before anything parses raw: url.Parse and rueidis quote
	// parts of a misread address (a port, a path, a bad escape) in their
	// errors, and a password with an unencoded / ? # is misread as those.
	if _, err := splitURL(raw); err != nil {
		return rueidis.ClientOption{}, fmt.Errorf("%w %s: %w", ErrBadURL, RedactURL(raw), err)
	}
	if _, _, err := urlPrefix(raw); err != nil {
		return rueidis.ClientOption{}, fmt.Errorf("%w %s: %w", ErrBadURL, RedactURL(raw), err)
	}
	rest, ok := strings.CutPrefix(raw, "redis-sentinel://")
	if !ok {
		o, err := rueidis.ParseURL(raw)
		if err != nil {
			// With the userinfo known to end before the path, query
			// and fragment, rueidis's messages (scheme, db, path,
			// query values) no longer hold the password.
			return o, fmt.Errorf("%w %s: %w", ErrBadURL, RedactURL(raw), err)
		}
		return o, nil
	}
	u, err := url.Parse("redis://" + rest)
	if err != nil {
		return rueidis.ClientOption{}, fmt.Errorf("%w %s: not a valid URL (%s)", ErrBadURL, RedactURL(raw), encodeHint)
	}
	master := strings.Trim(u.Path, "/")
	if master == "" {
		return rueidis.ClientOption{}, fmt.Errorf("%w %s: no master name (redis-sentinel://host:port[,host:port]/mastername)", ErrBadURL, RedactURL(raw))
	}
	var o rueidis.ClientOption
	for _, h := range strings.Split(u.Host, ",") {
		if h != "" {
			o.InitAddress = append(o.InitAddress, h)
		}
	}
	if len(o.InitAddress) == 0 {
		return o, fmt.Errorf("%w %s: no sentinel address", ErrBadURL, RedactURL(raw))
	}
	o.Sentinel.MasterSet = master
	if u.User != nil {
		o.Username = u.User.Username()
		o.Password, _ = u.User.Password()
		o.Sentinel.Username, o.Sentinel.Password = o.Username, o.Password
	}
	if db := u.Query().Get("db"); db != "" {
		if o.SelectDB, err = strconv.Atoi(db); err != nil {
			return o, fmt.Errorf("%w %s: bad db %q", ErrBadURL, RedactURL(raw), db)
		}
	}
	return o, nil
}

// RedactURL returns raw with its password replaced by "xxxxx"
// (redis://user:xxxxx@host:6379), for logs and errors. An address too
// malformed to tell its password from the rest shows only its scheme
// (redis://(unparsable)), and one without a scheme nothing of itself.
func RedactURL(raw string) string {
	u, err := splitURL(raw)
	if err != nil {
		if scheme, _, ok := strings.Cut(raw, "://"); ok && validScheme(scheme) {
			return scheme + "://(unparsable)"
		}
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// splitURL parses raw after checking that its userinfo, if any, ends
// before its path, query and fragment: url.Parse cuts the authority at
// the first / ? #, so a password holding one is otherwise read as a host
// and port, a path or a fragment, and ends up in messages and in the
// address dialled. Its errors never quote raw.
func splitURL(raw string) (*url.URL, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || !validScheme(scheme) {
		return nil, errors.New("not of the form scheme://[user:password@]host:port")
	}
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		if end := strings.IndexAny(rest, "/?#"); end >= 0 && end < at {
			return nil, fmt.Errorf("a '/', '?' or '#' before the last '@': %s", encodeHint)
		}
	}
	if strings.Contains(rest, "#") {
		return nil, fmt.Errorf("a Redis URL has no #fragment: %s", encodeHint)
	}
	// The sentinel form lists several host:port, which url.Parse would
	// refuse as one port; they are checked as redis:// here, as
	// ParseURL parses them.
	u, err := url.Parse("redis://" + rest)
	if err != nil {
		// url.Parse's error quotes the input (a port, an escape).
		return nil, fmt.Errorf("not a valid URL (%s)", encodeHint)
	}
	u.Scheme = scheme
	return u, nil
}

// validScheme reports whether s has a URL scheme's syntax (RFC 3986), so
// that showing it cannot show anything else.
func validScheme(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i, c := range s {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}
