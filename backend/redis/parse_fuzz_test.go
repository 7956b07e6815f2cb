package redis

import (
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// FuzzParseURL: any address parses or fails with ErrBadURL, never panics.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{
		"", "redis://127.0.0.1:6379", "rediss://u:p@h:6380/2", "redis://:p%2F@h/0",
		"redis-sentinel://s1:26379,s2:26379/mymaster?db=3", "redis-sentinel://:pw@h/", "unix:///tmp/r.sock",
		"redis://u:p/a@h", "redis://h#frag", "redis://[::1]:6379", "redis://h:99999", "://x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if _, err := ParseURL(raw); err != nil && !errors.Is(err, ErrBadURL) {
			t.Fatalf("error does not wrap ErrBadURL: %v", err)
		}
		_ = RedactURL(raw)
	})
}

// FuzzURLSecret: whatever the password holds, neither RedactURL nor a
// ParseURL error shows it, raw or percent-decoded, unless the rest of the
// address holds the same text anyway.
func FuzzURLSecret(f *testing.F) {
	for _, s := range [][3]string{
		{"redis", "s3cretpw", "h:6379/0"}, {"redis-sentinel", "pa/ss?wd#x", "s1,s2/m"}, {"rediss", "p%2Fword", "h:bad"},
		{"redis", "pa@ssword", "h:1@x"}, {"redis", "secret%zz", "h"}, {"redis", "[secret]", "[::1"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, scheme, pass, rest string) {
		raw := scheme + "://user:" + pass + "@" + rest
		secrets := []string{pass}
		if d, err := url.PathUnescape(pass); err == nil {
			secrets = append(secrets, d)
		}
		var shown []string
		shown = append(shown, RedactURL(raw))
		if _, err := ParseURL(raw); err != nil {
			shown = append(shown, err.Error())
		}
		for _, s := range secrets {
			if len(s) < 6 || strings.Contains(scheme+"://user:@"+rest+"xxxxx"+encodeHint, s) {
				continue
			}
			for _, out := range shown {
				if strings.Contains(out, s) {
					t.Fatalf("password %q shown in %q", s, out)
				}
			}
		}
	})
}

// FuzzParseCursor: a listing cursor (which the CLI takes from its user)
// parses or fails cleanly, and every cursor a listing hands out parses
// back to the position it came from.
func FuzzParseCursor(f *testing.F) {
	f.Add("12:default", int64(12), "default", "1700000000000", "\x01\x03abc")
	f.Add("z1.5:AQM:q", int64(0), "q:with:colons", "-3.25e2", "")
	f.Add("z:::", int64(-1), "", "nan", "\xff")
	f.Fuzz(func(t *testing.T, c string, off int64, q, score, prefix string) {
		for _, set := range []backend.JobSet{backend.SetQueued, backend.SetScheduled, backend.SetDead} {
			_, _, _ = parseCursor(c, set)
		}
		if off >= 0 {
			p := position{offset: off}
			gq, gp, err := parseCursor(p.cursor(q), backend.SetQueued)
			if err != nil || gq != q || gp != p {
				t.Fatalf("queued cursor %q: %q %+v %v", p.cursor(q), gq, gp, err)
			}
		}
		if _, err := strconv.ParseFloat(score, 64); err == nil && !strings.Contains(score, ":") && score != "" {
			p := position{score: score, prefix: prefix}
			gq, gp, err := parseCursor(p.cursor(q), backend.SetRetry)
			if err != nil || gq != q || gp != p {
				t.Fatalf("sorted-set cursor %q: %q %+v %v", p.cursor(q), gq, gp, err)
			}
		}
	})
}

// FuzzParseCancelMessage: a message on the cancel channel (which anyone
// with access to the Redis can publish) parses or is ignored, and every
// message cancelMessage writes parses back.
func FuzzParseCancelMessage(f *testing.F) {
	f.Add("7:defaultJOBID", "default", "JOBID")
	f.Add("0:x", "q", "")
	f.Add("-1:ab", "", "id")
	f.Add("99999999999999999999:a", "a:b", "c")
	f.Fuzz(func(t *testing.T, m, q, id string) {
		if gq, gid, ok := parseCancelMessage(m); ok && (gq == "" || gid == "") {
			t.Fatalf("%q parsed to an empty name: %q %q", m, gq, gid)
		}
		if q == "" || id == "" {
			return
		}
		gq, gid, ok := parseCancelMessage(cancelMessage(q, id))
		if !ok || gq != q || gid != id {
			t.Fatalf("cancelMessage(%q, %q) parsed to %q %q %v", q, id, gq, gid, ok)
		}
	})
}

// FuzzBatchStatusOf: whatever a batch's hashes hold (the scripts write
// them; an operator or an older version may have too), reading them gives
// a status in a known state, without panicking.
func FuzzBatchStatusOf(f *testing.F) {
	f.Add("total\n10\npending\n3\ncommitted_at\n1700000000000\ncomplete_at\n1700000000001", "c:fp\n4\ni:fp\n1700000000000\nJ\nk\nC\nmsg\nl:fp\nx\nother\n2", int64(1000))
	f.Add("expired\n1\ndeadline\n-5", "c:\n-1\ni:\n\n\n\n\n", int64(-1))
	f.Add("cancelled_at\n9\nsuccess_at\n9\ncb:success\n\x00", "c:a\n99999999999999999999", int64(0))
	f.Fuzz(func(t *testing.T, metaText, errsText string, pttl int64) {
		now := time.UnixMilli(1_800_000_000_000)
		s := statusOf("b", pairs(metaText), pairs(errsText), []string{"k2", "k1"}, pttl, now)
		states := []backend.BatchState{backend.BatchPopulating, backend.BatchRunning, backend.BatchComplete,
			backend.BatchSucceeded, backend.BatchCancelled, backend.BatchExpired}
		if !slices.Contains(states, s.State) {
			t.Fatalf("unknown state %q", s.State)
		}
		if !slices.IsSorted(s.Children) {
			t.Fatalf("children not sorted: %v", s.Children)
		}
	})
}

// pairs reads "k\nv\nk\nv..." into a map.
func pairs(text string) map[string]string {
	m := map[string]string{}
	parts := strings.Split(text, "\n")
	for i := 0; i+1 < len(parts); i += 2 {
		m[parts[i]] = parts[i+1]
	}
	return m
}
