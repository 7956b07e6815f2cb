package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"regexp"
	"testing"

	"github.com/joblot/joblot/backend"
)

// freeAddr returns a loopback address nobody listens on right now.
func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// scrapeUntil polls url until its body matches every pattern, and returns
// the body; it fails the test after waitTimeout.
func scrapeUntil(t *testing.T, url string, patterns ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	var body string
	matched := pollUntil(ctx, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		body = string(b)
		ok := resp.StatusCode == http.StatusOK
		for _, p := range patterns {
			ok = ok && regexp.MustCompile(p).MatchString(body)
		}
		return ok
	})
	if !matched {
		t.Fatalf("%s never matched %q; last body:\n%s", url, patterns, body)
	}
	return body
}

func TestMetricsServesTheStore(t *testing.T) {
	for _, ts := range testStores(t) {
		t.Run(ts.name, func(t *testing.T) {
			b := ts.open(t)
			seed(t, b, []seedSpec{{set: backend.SetDead, queue: "mail", kind: "K", errMsg: "boom", fp: "fp", n: 5}})
			b.Close()
			addr := freeAddr(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan result, 1)
			go func() {
				done <- runCmdCtx(ctx, nil, args(ts.flags, "metrics", "--addr", addr, "--refresh", "100ms", "--family-interval", "100ms")...)
			}()
			patterns := []string{`joblot_queue_jobs\{queue="mail",set="dead"\} 5\n`, `joblot_store_memory_used_bytes \d`}
			if ts.name == "redis" {
				patterns = append(patterns, `joblot_store_family_bytes\{family="dead"\} [1-9]`)
			}
			scrapeUntil(t, "http://"+addr+"/metrics", patterns...)
			cancel()
			if r := <-done; r.code != 0 || !contains(r.stdout, "/metrics") {
				t.Errorf("metrics after SIGINT: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
			}
		})
	}
}
