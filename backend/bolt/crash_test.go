package bolt_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/bolt"
)

// The tests in this file re-execute the test binary as a child process
// (the env var names the role and the file), because a crash and a file
// lock are only real across processes.

const childEnv = "JOBLOT_BOLT_CHILD"

// startChild runs this test binary as a child running only test, with role
// and path in its environment, and returns its stdout lines.
func startChild(t *testing.T, test, role, path string) (*exec.Cmd, *bufio.Scanner, io.WriteCloser) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+role+":"+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd, bufio.NewScanner(out), in
}

// childRole returns the role and path this process was started with, or
// "" in the parent.
func childRole() (role, path string) {
	v := os.Getenv(childEnv)
	role, path, _ = strings.Cut(v, ":")
	return role, path
}

// crashChild enqueues jobs in chunks forever, printing "E <id>" for each
// job once Enqueue has returned, fetches some into flight ("F <id>") and
// completes some of those ("c <id>" before calling Complete, "C <id>" once
// it returned). The parent kills it with SIGKILL at a random moment.
func crashChild(path string) {
	ctx := context.Background()
	b, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		os.Exit(2)
	}
	if err := b.Heartbeat(ctx, backend.ProcessInfo{ID: "child"}, time.Hour); err != nil {
		os.Exit(2)
	}
	w := bufio.NewWriter(os.Stdout)
	for round := 0; ; round++ {
		js := make([]*backend.Job, 50)
		for i := range js {
			js[i] = &backend.Job{ID: fmt.Sprintf("r%d-%d", round, i), Kind: "k", Queue: "crash", Args: []byte(`{}`)}
		}
		if _, err := b.Enqueue(ctx, js); err != nil {
			fmt.Fprintln(os.Stderr, "child enqueue:", err)
			os.Exit(2)
		}
		for _, j := range js {
			fmt.Fprintln(w, "E", j.ID)
		}
		w.Flush()
		fr, err := b.Fetch(ctx, backend.FetchParams{Proc: "child", Queues: []string{"crash"}, Max: 20})
		fs := fr.Jobs
		if err != nil {
			os.Exit(2)
		}
		for _, f := range fs {
			fmt.Fprintln(w, "F", f.ID)
		}
		w.Flush()
		var rs []backend.Result
		for _, f := range fs[:len(fs)/2] { // the other half stays in flight
			rs = append(rs, backend.Result{Fetched: f, Outcome: backend.OutcomeSucceeded})
			fmt.Fprintln(w, "c", f.ID)
		}
		w.Flush()
		if err := b.Complete(ctx, "child", rs); err != nil {
			os.Exit(2)
		}
		for _, r := range rs {
			fmt.Fprintln(w, "C", r.Fetched.ID)
		}
		w.Flush()
	}
}

// TestCrashLosesNoJob SIGKILLs a process in the middle of enqueuing,
// fetching and completing, reopens its file and finds every job whose
// Enqueue returned: queued, or in flight and recovered by Open to the head
// of the queue, except those whose Complete returned (and those whose
// Complete was under way at the crash, which may have landed or not). The
// parent reads the child's whole output, up to its death: the child runs
// ahead of the parent's reading by up to a pipe's buffer, more so on a busy
// machine.
func TestCrashLosesNoJob(t *testing.T) {
	if role, path := childRole(); role == "crash" {
		crashChild(path)
		return
	}
	path := filepath.Join(t.TempDir(), "joblot.db")
	for attempt := range 3 { // several crashes into the same file
		cmd, lines, _ := startChild(t, "TestCrashLosesNoJob", "crash", path)
		enqueued, completing, completed, fetched := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
		killAfter := 2000 + attempt*777
		killed := false
		for lines.Scan() { // to EOF: what the child printed before it died
			op, id, ok := strings.Cut(lines.Text(), " ")
			if !ok {
				continue
			}
			switch op {
			case "E":
				enqueued[id] = true
			case "F":
				fetched[id] = true
			case "c":
				completing[id] = true
			case "C":
				completed[id] = true
			}
			if len(enqueued) >= killAfter && !killed {
				if err := cmd.Process.Signal(os.Kill); err != nil {
					t.Fatal(err)
				}
				killed = true
			}
		}
		_ = cmd.Wait()
		if !killed {
			t.Fatalf("crash %d: the child stopped after %d enqueued jobs, before it was killed", attempt, len(enqueued))
		}

		b, err := bolt.Open(path, bolt.Options{})
		if err != nil {
			t.Fatalf("reopen after SIGKILL: %v", err)
		}
		ctx := context.Background()
		st, err := b.Stats(ctx, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range st.Queues {
			if q.InFlight != 0 {
				t.Fatalf("queue %s has %d jobs in flight after reopening: Open recovers them", q.Name, q.InFlight)
			}
		}
		queued := map[string]*backend.Job{}
		page := &backend.JobPage{}
		for cursor := ""; ; cursor = page.Next {
			page, err = b.ListJobs(ctx, backend.JobFilter{Set: backend.SetQueued, Queue: "crash", Cursor: cursor, Limit: 1000})
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range page.Jobs {
				queued[j.ID] = j
			}
			if page.Next == "" {
				break
			}
		}
		recovered := 0
		for id := range enqueued {
			j, ok := queued[id]
			if completed[id] {
				if ok {
					t.Fatalf("job %s completed before the crash is queued again", id)
				}
				continue
			}
			if completing[id] {
				continue // Complete under way at the crash: either is right
			}
			if !ok {
				t.Fatalf("crash %d: job %s was acknowledged as enqueued but is lost (%d enqueued, %d queued)", attempt, id, len(enqueued), len(queued))
			}
			if fetched[id] && j.Recoveries > 0 {
				recovered++
			}
		}
		if recovered == 0 {
			t.Fatalf("no in-flight job was recovered: the test did not crash with jobs in flight")
		}
		// Drain, so the next crash starts from an empty queue.
		if err := b.Heartbeat(ctx, backend.ProcessInfo{ID: "drain"}, time.Hour); err != nil {
			t.Fatal(err)
		}
		for {
			fr, err := b.Fetch(ctx, backend.FetchParams{Proc: "drain", Queues: []string{"crash"}, Max: 1000})
			fs := fr.Jobs
			if err != nil {
				t.Fatal(err)
			}
			if len(fs) == 0 {
				break
			}
			rs := make([]backend.Result, len(fs))
			for i, f := range fs {
				rs[i] = backend.Result{Fetched: f, Outcome: backend.OutcomeSucceeded}
			}
			if err := b.Complete(ctx, "drain", rs); err != nil {
				t.Fatal(err)
			}
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("crash %d: %d enqueued, %d completed, %d recovered from flight", attempt, len(enqueued), len(completed), recovered)
	}
}

// lockChild opens the file, enqueues one job, prints "ready" and holds the
// file until its stdin closes.
func lockChild(path string) {
	b, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		os.Exit(2)
	}
	if _, err := b.Enqueue(context.Background(), []*backend.Job{{ID: "held", Kind: "k", Queue: "q"}}); err != nil {
		os.Exit(2)
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	_ = b.Close()
}

// TestSecondProcessGetsErrLocked: while one process owns the file, Open
// from another fails (after LockTimeout) with ErrLocked and a message
// pointing to Redis, and the file is intact afterwards.
func TestSecondProcessGetsErrLocked(t *testing.T) {
	if role, path := childRole(); role == "lock" {
		lockChild(path)
		return
	}
	path := filepath.Join(t.TempDir(), "joblot.db")
	cmd, lines, stdin := startChild(t, "TestSecondProcessGetsErrLocked", "lock", path)
	if !lines.Scan() || lines.Text() != "ready" {
		t.Fatalf("child did not get ready: %q", lines.Text())
	}
	// How long Open waited is not checked: a timing goal, not a contract
	// a busy machine can keep; an Open that never gave up would hang.
	const timeout = 300 * time.Millisecond
	b, err := bolt.Open(path, bolt.Options{LockTimeout: timeout})
	if err == nil {
		b.Close()
		t.Fatalf("second Open of a file owned by another process succeeded")
	}
	if !errors.Is(err, backend.ErrLocked) {
		t.Fatalf("second Open = %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), "Redis") {
		t.Fatalf("ErrLocked message does not point to Redis: %v", err)
	}
	stdin.Close() // the child closes the file and exits
	if err := cmd.Wait(); err != nil {
		t.Fatalf("lock child: %v", err)
	}
	b, err = bolt.Open(path, bolt.Options{LockTimeout: timeout})
	if err != nil {
		t.Fatalf("Open after the owner exited: %v", err)
	}
	defer b.Close()
	page, err := b.ListJobs(context.Background(), backend.JobFilter{Set: backend.SetQueued, Queue: "q"})
	if err != nil || len(page.Jobs) != 1 || page.Jobs[0].ID != "held" {
		t.Fatalf("the owner's job after it exited: %+v, %v", page, err)
	}
}
