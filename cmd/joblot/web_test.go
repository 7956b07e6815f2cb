package main

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/joblot/joblot/backend"
)

// TestWebServesTheDashboard runs `joblot web` on both backends with basic
// auth: without credentials it answers 401 with a challenge, with them it
// shows the seeded dead jobs, and --read-only shows no action.
func TestWebServesTheDashboard(t *testing.T) {
	for _, ts := range testStores(t) {
		t.Run(ts.name, func(t *testing.T) {
			b := ts.open(t)
			seed(t, b, []seedSpec{{set: backend.SetDead, queue: "mail", kind: "K<b>", errMsg: "boom", fp: "fp", n: 3}})
			b.Close()
			for _, readOnly := range []bool{false, true} {
				addr := freeAddr(t)
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan result, 1)
				argv := args(ts.flags, "web", "--listen", addr)
				if readOnly {
					argv = append(argv, "--read-only")
				}
				go func() {
					done <- runCmdCtx(ctx, map[string]string{webAuthEnv: "admin:s3cret"}, argv...)
				}()
				var body string
				eventually(t, "the dashboard to answer", func() bool {
					req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/jobs/dead", nil)
					req.SetBasicAuth("admin", "s3cret")
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						return false
					}
					defer resp.Body.Close()
					data, _ := io.ReadAll(resp.Body)
					body = string(data)
					return resp.StatusCode == http.StatusOK
				})
				if !strings.Contains(body, "K&lt;b&gt;") || strings.Contains(body, "K<b>") {
					t.Errorf("dead page does not show the kind escaped:\n%s", body)
				}
				if got := strings.Contains(body, `method="post"`); got == readOnly {
					t.Errorf("read-only %v: write forms shown %v", readOnly, got)
				}
				if ts.name == "redis" && !readOnly {
					// The memory page reports key families and runs
					// the cleanup: a dry run, then applied.
					if body := getAuthed(t, "http://"+addr+"/memory?dryrun=1"); !strings.Contains(body, "By key family") || !strings.Contains(body, `id="cleanup-plan"`) {
						t.Errorf("memory page on Redis lacks families or the dry run:\n%s", body)
					}
					req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/memory/cleanup", nil)
					req.SetBasicAuth("admin", "s3cret")
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					data, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK || !strings.Contains(string(data), `id="cleanup-applied"`) {
						t.Errorf("cleanup apply: %d\n%s", resp.StatusCode, data)
					}
				}
				for _, creds := range [][2]string{{"", ""}, {"admin", "wrong"}} {
					req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
					if creds[0] != "" {
						req.SetBasicAuth(creds[0], creds[1])
					}
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic ") {
						t.Errorf("credentials %q: %d %q, want 401 with a challenge", creds, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
					}
				}
				cancel()
				if r := <-done; r.code != 0 || !strings.Contains(r.stdout, "serving the dashboard") {
					t.Errorf("web after SIGINT: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
				}
			}
		})
	}
}

// TestWebRefusesAnOpenNonLoopbackListen: a dashboard others can reach
// needs credentials, unless --insecure-no-auth says otherwise; a bad
// $JOBLOT_WEB_AUTH is refused before anything listens.
func TestWebRefusesAnOpenNonLoopbackListen(t *testing.T) {
	db := []string{"--db", t.TempDir() + "/joblot.db"}
	r := runCmd(t, nil, args(db, "web", "--listen", "0.0.0.0:0")...)
	if r.code == 0 || !strings.Contains(r.stderr, webAuthEnv) {
		t.Fatalf("non-loopback without auth: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runCmd(t, map[string]string{webAuthEnv: "nocolon"}, args(db, "web")...)
	if r.code == 0 || !strings.Contains(r.stderr, "user:password") {
		t.Fatalf("bad %s: exit %d, stderr %q", webAuthEnv, r.code, r.stderr)
	}
	for addr, want := range map[string]bool{"127.0.0.1:8080": true, "[::1]:80": true, "localhost:1": true, "0.0.0.0:8080": false, ":8080": false, "10.0.0.1:80": false} {
		if got := loopback(addr); got != want {
			t.Errorf("loopback(%q) = %v, want %v", addr, got, want)
		}
	}
}

// getAuthed GETs a dashboard URL with the test's credentials.
func getAuthed(t *testing.T, u string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.SetBasicAuth("admin", "s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d\n%s", u, resp.StatusCode, data)
	}
	return string(data)
}
