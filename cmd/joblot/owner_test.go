package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/bolt"
)

// Environment of the owner process (TestOwnerProcess): the store to own,
// and whether to serve its local endpoint.
const (
	ownerDBEnv      = "JOBLOT_CLI_TEST_OWNER_DB"
	ownerNoServeEnv = "JOBLOT_CLI_TEST_OWNER_NO_SERVE"
)

// ownerSeed is what the owner process puts in its store.
var ownerSeed = []seedSpec{
	{set: backend.SetDead, queue: "mail", kind: "Welcome", errMsg: "smtp down", fp: "fp-smtp", n: 3},
	{set: backend.SetDead, queue: "sms", kind: "Remind", errMsg: "bad number", fp: "fp-phone", n: 2},
	{set: backend.SetScheduled, queue: "mail", kind: "Welcome", n: 4},
}

// TestOwnerProcess is the owner side of TestCommandsThroughTheOwner: it
// opens the store, which serves its local endpoint (unless told not to),
// seeds it, prints the seeded dead job IDs and "ready", and runs until
// SIGTERM or killed. It does nothing in a normal test run.
func TestOwnerProcess(t *testing.T) {
	path := os.Getenv(ownerDBEnv)
	if path == "" {
		return
	}
	// bolt.Open serves the local endpoint next to the file unless told
	// not to.
	b, err := bolt.Open(path, bolt.Options{NoSync: true, NoLocalEndpoint: os.Getenv(ownerNoServeEnv) != ""})
	if err != nil {
		t.Fatalf("owner: %v", err)
	}
	defer b.Close()
	ids := seed(t, b, ownerSeed)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	fmt.Printf("%s\nready\n", strings.Join(slices.Concat(ids[0], ids[1]), " "))
	<-ctx.Done()
}

// startOwner runs the test binary as the owner of path and returns its
// pid and the dead job IDs it seeded once it is ready. It is killed at
// cleanup.
func startOwner(t *testing.T, path string, serve bool) (int, []string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestOwnerProcess$")
	cmd.Env = append(os.Environ(), ownerDBEnv+"="+path)
	if !serve {
		cmd.Env = append(cmd.Env, ownerNoServeEnv+"=1")
	}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	r := bufio.NewReader(out)
	ids, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("owner process did not start: %v", err)
	}
	if line, err := r.ReadString('\n'); err != nil || strings.TrimSpace(line) != "ready" {
		t.Fatalf("owner process did not start: %q, %v", line, err)
	}
	return cmd.Process.Pid, strings.Fields(ids)
}

// shortDir is a temporary directory with a short path: a unix socket's
// path is limited to about 100 bytes, and t.TempDir's can be longer.
func shortDir(t *testing.T) string {
	d, err := os.MkdirTemp("", "jl")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// While a process owns the file, commands run through its local endpoint
// and say so; after it stops, they open the file directly.
func TestCommandsThroughTheOwner(t *testing.T) {
	path := filepath.Join(shortDir(t), "joblot.db")
	pid, dead := startOwner(t, path, true)
	s := []string{"--db", path}
	slices.Sort(dead)

	r := runCmd(t, nil, args(s, "dead", "list", "--json", "--limit", "0")...)
	if r.code != 0 {
		t.Fatalf("dead list through the owner: exit %d: %s", r.code, r.stderr)
	}
	if want := fmt.Sprintf("using the running owner (pid %d)", pid); !contains(r.stderr, want) {
		t.Errorf("stderr %q does not say %q", r.stderr, want)
	}
	if got := listIDs(t, s, "dead"); !slices.Equal(got, dead) {
		t.Errorf("dead list through the owner = %v, want %v", got, dead)
	}
	if got := listIDs(t, s, "dead", "--kind", "Remind"); len(got) != 2 {
		t.Errorf("dead list --kind Remind through the owner: %v", got)
	}
	st := decode(t, mustRun(t, args(s, "stats", "--json")...))
	if num(t, st, "failed") != 5 {
		t.Errorf("stats through the owner: failed = %v, want 5", st["failed"])
	}
	mustRun(t, args(s, "dead", "retry", "--queue", "sms")...)
	if got := queueSize(t, s, "sms"); got != 2 {
		t.Errorf("after retrying through the owner, queue sms holds %d, want 2", got)
	}
	out := mustRun(t, args(s, "memory")...)
	if !contains(out, "file") {
		t.Errorf("memory through the owner:\n%s", out)
	}
}

// A process that holds the file without serving it gets a clear error,
// not a hang and not a silent second store.
func TestLockedFileWithoutEndpoint(t *testing.T) {
	path := filepath.Join(shortDir(t), "joblot.db")
	startOwner(t, path, false)
	r := runCmd(t, nil, "dead", "list", "--db", path)
	if r.code == 0 {
		t.Fatalf("dead list on a file held by a process without endpoint succeeded:\n%s", r.stdout)
	}
	for _, want := range []string{"locked by another process", "no local endpoint"} {
		if !contains(r.stderr, want) {
			t.Errorf("stderr %q lacks %q", r.stderr, want)
		}
	}
}
