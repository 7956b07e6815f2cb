package main

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/joblot/joblot/internal/redistest"
)

// secretMark is in every piece of every test password.
const secretMark = "Qx7"

// Passwords written unencoded into a URL: each character ends or breaks
// the userinfo, and url.Parse quotes what it misreads.
var rawSecrets = []string{"Qx7a/Qx7b", "Qx7a#Qx7b", "Qx7a?Qx7b", "Qx7a%zzQx7b", "Qx7a@Qx7b/Qx7c"}

// Commands that open Redis, each a different way (the backend, or a bare
// client for reports and cleanup).
var redisCommands = [][]string{
	{"stats"},
	{"dead", "list"},
	{"memory"},
	{"cleanup", "--legacy-sidekiq-failinfo"},
	{"migrate", "--dry-run"},
	{"bench", "--jobs", "1"},
}

// No command shows a Redis password, whether the URL is unparsable (an
// unencoded / # ? %), refused by Redis (a wrong user) or unreachable, and
// whether it comes from --redis, the environment or --redis-url-file.
func TestRedisPasswordNeverShown(t *testing.T) {
	srv := redistest.Start(t)
	var urls []string
	for _, pw := range rawSecrets {
		urls = append(urls,
			"redis://nosuchuser:"+pw+"@"+srv.Addr+"/0",
			"redis-sentinel://nosuchuser:"+pw+"@"+srv.Addr+"/m",
			"redis://nosuchuser:"+url.PathEscape(pw)+"@127.0.0.1:1",
			"redis://"+url.UserPassword("nosuchuser", pw).String()+"@"+srv.Addr,
		)
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "redis-url")
	for _, u := range urls {
		if err := os.WriteFile(file, []byte(u+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, cmd := range redisCommands {
			for how, run := range map[string]func() result{
				"flag": func() result { return runCmd(t, nil, append(cmd, "--redis", u)...) },
				"env":  func() result { return runCmd(t, map[string]string{redisURLEnv: u}, cmd...) },
				"file": func() result { return runCmd(t, nil, append(cmd, "--redis-url-file", file)...) },
			} {
				r := run()
				if r.code == 0 {
					t.Errorf("%v (URL by %s) with a bad password succeeded", cmd, how)
				}
				if strings.Contains(r.stdout+r.stderr, secretMark) {
					t.Errorf("%v (URL by %s) shows the password:\nstdout: %s\nstderr: %s", cmd, how, r.stdout, r.stderr)
				}
				if !strings.Contains(r.stderr, "redis") {
					t.Errorf("%v (URL by %s): the error does not say which store: %s", cmd, how, r.stderr)
				}
			}
		}
	}
}

func TestRedisURLFile(t *testing.T) {
	srv := redistest.Start(t)
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // not subject to the umask
			t.Fatal(err)
		}
		return p
	}
	private := write("private", "\n  "+srv.URL+"  \n", 0o600)
	if n, err := srv.Do("DBSIZE"); err != nil || n != "0" {
		t.Fatalf("fresh Redis: DBSIZE %q, %v", n, err)
	}
	r := runCmd(t, nil, "stats", "--json", "--redis-url-file", private)
	if r.code != 0 {
		t.Fatalf("stats --redis-url-file: exit %d: %s", r.code, r.stderr)
	}
	decode(t, r.stdout)
	if r.stderr != "" {
		t.Errorf("a private URL file drew a complaint: %s", r.stderr)
	}
	// The URL really is the file's: opening the store recorded its data
	// model version there.
	if n, err := srv.Do("DBSIZE"); err != nil || n == "0" {
		t.Errorf("stats through --redis-url-file did not open its Redis: DBSIZE %q, %v", n, err)
	}

	shared := write("shared", srv.URL, 0o644)
	r = runCmd(t, nil, "stats", "--json", "--redis-url-file", shared)
	if r.code != 0 || !strings.Contains(r.stderr, "readable by other users") {
		t.Errorf("a URL file others can read: exit %d, stderr %q; want success and a warning", r.code, r.stderr)
	}

	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"world-writable": {[]string{"--redis-url-file", write("planted", srv.URL, 0o666)}, "writable by any user"},
		"empty":          {[]string{"--redis-url-file", write("empty", " \n\t", 0o600)}, "holds no URL"},
		"missing":        {[]string{"--redis-url-file", filepath.Join(dir, "nope")}, "no such file"},
		"directory":      {[]string{"--redis-url-file", dir}, "not a regular file"},
		"with --redis":   {[]string{"--redis-url-file", private, "--redis", srv.URL}, "both given"},
		"with --db":      {[]string{"--redis-url-file", private, "--db", filepath.Join(dir, "x.db")}, "both given"},
	} {
		r := runCmd(t, nil, append([]string{"stats"}, tc.args...)...)
		if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want an error saying %q", name, r.code, r.stderr, tc.want)
		}
	}
}

// The help says how to keep the password out of ps.
func TestRedisFlagHelpSaysUseTheEnvironment(t *testing.T) {
	out := mustRun(t, "stats", "--help")
	for _, want := range []string{redisURLEnv, "--redis-url-file", "ps"} {
		if !strings.Contains(out, want) {
			t.Errorf("stats --help lacks %q:\n%s", want, out)
		}
	}
}
