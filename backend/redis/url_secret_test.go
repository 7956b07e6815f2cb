package redis

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/joblot/joblot/internal/redistest"
)

// secretMark is in every piece of every test password: no error or
// redacted address may contain it.
const secretMark = "Qx7"

// secretPasswords hold the characters that end or break a URL's userinfo
// when written unencoded, each between two marked pieces.
var secretPasswords = []string{
	"Qx7a/Qx7b",
	"Qx7a#Qx7b",
	"12#Qx7b", // url.Parse reads "u:12" as host:port and the rest as a fragment
	"Qx7a?Qx7b",
	"12?db=Qx7b",
	"Qx7a%zzQx7b",
	"Qx7a@Qx7b",
	"Qx7a%Qx7b",
	"Qx7a/b/Qx7c?d#Qx7e@Qx7f",
}

// secretURLs are the address forms, with P standing for the password.
var secretURLs = []string{
	"redis://u:P@127.0.0.1:1/0",
	"redis://:P@127.0.0.1:1",
	"rediss://u:P@h:6380/1",
	"redis://u:P@127.0.0.1:1/notadb",
	"redis://u:P@127.0.0.1:1/0?db=x",
	"redis-sentinel://u:P@s1:26379,s2:26380/m",
	"redis-sentinel://u:P@s1:26379,s2:26380/m?db=x",
	"redis-sentinel://u:P@s1:26379",
	"ftp://u:P@h",
	"redis://u:P@[::1",
}

// hasSecret reports whether s holds a piece of a test password.
func hasSecret(s string) bool {
	return strings.Contains(s, secretMark) || strings.Contains(s, "12#") || strings.Contains(s, "12?")
}

func TestURLErrorsNeverShowThePassword(t *testing.T) {
	for _, form := range secretURLs {
		for _, pw := range secretPasswords {
			raw := strings.Replace(form, "P", pw, 1)
			if got := RedactURL(raw); hasSecret(got) {
				t.Errorf("RedactURL(%q) = %q", raw, got)
			}
			_, err := ParseURL(raw)
			if err != nil && hasSecret(err.Error()) {
				t.Errorf("ParseURL(%q) error shows the password: %v", raw, err)
			}
			if err != nil && !errors.Is(err, ErrBadURL) {
				t.Errorf("ParseURL(%q) error does not wrap ErrBadURL: %v", raw, err)
			}
			// Written unencoded, only '@' (url.Parse takes the last
			// one) and a valid %-escape are read as part of a password.
			if err == nil && !strings.ContainsAny(pw, "/?#") {
				continue
			}
			if err == nil && strings.HasPrefix(form, "redis://") {
				t.Errorf("ParseURL(%q) accepted a password with an unencoded / ? #", raw)
			}
		}
	}
}

// The redacted form keeps everything but the password.
func TestRedactURLKeepsTheRest(t *testing.T) {
	for raw, want := range map[string]string{
		"redis://user:s3cret@h:6379/2":                  "redis://user:xxxxx@h:6379/2",
		"redis://user:p@ss@h:6379":                      "redis://user:xxxxx@h:6379",
		"redis://user:a%2Fb@h:6379":                     "redis://user:xxxxx@h:6379",
		"redis-sentinel://u:s3cret@s1:26379,s2:26380/m": "redis-sentinel://u:xxxxx@s1:26379,s2:26380/m",
		"redis://h:6379?addr=h2:6380":                   "redis://h:6379?addr=h2:6380",
		"redis://user:pa/ss@h:6379":                     "redis://(unparsable)",
		"redis://user:pa%zz@h:6379":                     "redis://(unparsable)",
		"user:s3cret@h:6379":                            "(unparsable URL)",
		"redis:user:s3cret@x://h":                       "(unparsable URL)",
	} {
		if got := RedactURL(raw); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", raw, got, want)
		}
	}
}

// Passwords percent-encoded reach Redis decoded, and neither a refused
// AUTH nor a refused connection shows them.
func TestConnectErrorsNeverShowThePassword(t *testing.T) {
	srv := redistest.Start(t)
	for _, pw := range secretPasswords {
		userinfo := url.UserPassword("nosuchuser", pw).String()
		o, err := ParseURL("redis://" + userinfo + "@" + srv.Addr)
		if err != nil {
			t.Fatalf("ParseURL of the encoded password %q: %v", pw, err)
		}
		if o.Password != pw {
			t.Errorf("encoded password %q parsed as %q", pw, o.Password)
		}
		for _, addr := range []string{srv.Addr, "127.0.0.1:1"} {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			b, err := Open(ctx, Options{URL: "redis://" + userinfo + "@" + addr})
			cancel()
			if err == nil {
				b.Close()
				t.Errorf("Open as an unknown user on %s succeeded", addr)
				continue
			}
			if hasSecret(err.Error()) {
				t.Errorf("Open(%s) error shows the password: %v", addr, err)
			}
		}
	}
}
