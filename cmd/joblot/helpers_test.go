package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/joblot/joblot/internal/redistest"
)

// result is one in-process run of the command line.
type result struct {
	stdout, stderr string
	code           int
}

// runCmd runs joblot in-process with an empty environment (so a
// JOBLOT_REDIS_URL of the developer's cannot leak in) unless env is given.
func runCmd(t *testing.T, env map[string]string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return runCmdCtx(ctx, env, args...)
}

func runCmdCtx(ctx context.Context, env map[string]string, args ...string) result {
	var out, errOut bytes.Buffer
	code := execute(ctx, args, &out, &errOut, func(k string) string { return env[k] })
	return result{stdout: out.String(), stderr: errOut.String(), code: code}
}

// waitTimeout bounds the package's waits for something to happen:
// generous, so that a busy machine makes a test slower, never red.
const waitTimeout = time.Minute

// pollUntil polls cond until it holds (true) or ctx ends (false).
func pollUntil(ctx context.Context, cond func() bool) bool {
	for !cond() {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(10 * time.Millisecond): // paces the poll only
		}
	}
	return true
}

// waitFor polls cond until it holds, failing the test when ctx ends.
func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	if !pollUntil(ctx, cond) {
		t.Fatalf("timed out waiting for %s", what)
	}
}

// eventually polls cond until it holds, failing the test after
// waitTimeout.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	waitFor(t, ctx, what, cond)
}

// recvWithin returns the next value from ch, failing the test after
// waitTimeout.
func recvWithin[T any](t *testing.T, what string, ch <-chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitTimeout):
		t.Fatalf("timed out after %v waiting for %s", waitTimeout, what)
		panic("unreachable")
	}
}

// mustRun runs joblot and fails the test unless it exits 0.
func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	r := runCmd(t, nil, args...)
	if r.code != 0 {
		t.Fatalf("joblot %v: exit %d\nstdout:\n%s\nstderr:\n%s", args, r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// decode parses JSON output into a map, failing the test on bad JSON.
func decode(t *testing.T, out string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, out)
	}
	return m
}

// num returns a numeric field of a decoded JSON object, failing if absent.
func num(t *testing.T, m map[string]any, key string) float64 {
	t.Helper()
	v, ok := m[key]
	if !ok {
		t.Fatalf("JSON has no field %q: %v", key, m)
	}
	f, ok := v.(float64)
	if !ok {
		t.Fatalf("JSON field %q is %T, not a number", key, v)
	}
	return f
}

// stores returns the store flags of each backend, each on a fresh store.
func stores(t *testing.T) map[string][]string {
	return map[string][]string{
		"redis": {"--redis", redistest.Start(t).URL},
		"file":  {"--db", filepath.Join(t.TempDir(), "joblot.db")},
	}
}

func args(store []string, rest ...string) []string {
	return append(append([]string(nil), rest...), store...)
}
