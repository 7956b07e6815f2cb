package remote_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/remote"
)

// countingStore is a real store that counts the Enqueue, AddToBatch and
// Complete calls that reach it.
type countingStore struct {
	backend.Backend
	enqueues, adds, completes atomic.Int64
}

func (s *countingStore) Enqueue(ctx context.Context, jobs []*backend.Job) (backend.EnqueueResult, error) {
	s.enqueues.Add(1)
	return s.Backend.Enqueue(ctx, jobs)
}

func (s *countingStore) AddToBatch(ctx context.Context, add *backend.BatchAdd) error {
	s.adds.Add(1)
	return s.Backend.AddToBatch(ctx, add)
}

func (s *countingStore) Complete(ctx context.Context, proc string, results []backend.Result) error {
	s.completes.Add(1)
	return s.Backend.Complete(ctx, proc, results)
}

// serveWith serves b for dbPath with srv's limits until the test ends.
func serveWith(t *testing.T, srv remote.Server, dbPath string, b backend.Backend) {
	t.Helper()
	l, err := remote.Listen(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l, b) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
}

func dialPath(t *testing.T, dbPath string) *remote.Client {
	t.Helper()
	c, err := remote.Dial(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// jobsOf makes n jobs with argBytes of arguments each.
func jobsOf(n, argBytes int) []*backend.Job {
	args, _ := json.Marshal(strings.Repeat("a", argBytes))
	jobs := make([]*backend.Job, n)
	for i := range jobs {
		jobs[i] = &backend.Job{ID: backend.NewJobID(), Kind: "k", Queue: "q", Args: args, CreatedAt: time.Now()}
	}
	return jobs
}

// Calls whose jobs together exceed the owner's request limit still work:
// the client splits them into requests that fit, and every job arrives
// (enqueued, added to its batch with dense indexes, completed).
func TestLargeCallsAreSplit(t *testing.T) {
	const limit = 64 << 10
	ctx := context.Background()
	dbPath := filepath.Join(shortDir(t), "joblot.db")
	store := &countingStore{Backend: openStore(t, dbPath, backend.Limits{})}
	serveWith(t, remote.Server{MaxRequestBytes: limit}, dbPath, store)
	c := dialPath(t, dbPath)

	jobs := jobsOf(200, 1000) // ~4x the limit
	if _, err := c.Enqueue(ctx, jobs); err != nil {
		t.Fatalf("Enqueue of %d jobs above the request limit: %v", len(jobs), err)
	}
	if n := store.enqueues.Load(); n < 2 {
		t.Fatalf("the owner got %d Enqueue requests, want the call split", n)
	}

	if err := c.CreateBatch(ctx, &backend.BatchSpec{ID: "b1", CreatedAt: time.Now(), CommitDeadline: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	batched := jobsOf(200, 1000)
	if err := c.AddToBatch(ctx, &backend.BatchAdd{BatchID: "b1", Jobs: batched}); err != nil {
		t.Fatalf("AddToBatch above the request limit: %v", err)
	}
	if n := store.adds.Load(); n < 2 {
		t.Fatalf("the owner got %d AddToBatch requests, want the call split", n)
	}
	for i, j := range batched {
		if j.BatchID != "b1" || j.BatchIndex != int64(i) {
			t.Fatalf("batched job %d: BatchID %q BatchIndex %d, want b1 and %d", i, j.BatchID, j.BatchIndex, i)
		}
	}

	if err := c.Heartbeat(ctx, backend.ProcessInfo{ID: "p1", StartedAt: time.Now()}, time.Hour); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, j := range append(jobs, batched...) {
		want[j.ID] = true
	}
	total := len(want)
	var results []backend.Result
	for len(results) < total {
		fr, err := c.Fetch(ctx, backend.FetchParams{Proc: "p1", Queues: []string{"q"}, Max: 50})
		fs := fr.Jobs
		if err != nil || len(fs) == 0 {
			t.Fatalf("Fetch after %d jobs = %d, %v; want all %d", len(results), len(fs), err, len(want))
		}
		for _, f := range fs {
			if !want[f.Job.ID] {
				t.Fatalf("fetched unknown or duplicate job %s", f.Job.ID)
			}
			delete(want, f.Job.ID)
			results = append(results, backend.Result{Fetched: f, Outcome: backend.OutcomeSucceeded})
		}
	}
	if len(want) != 0 {
		t.Fatalf("%d jobs never arrived", len(want))
	}
	if err := c.Complete(ctx, "p1", results); err != nil {
		t.Fatalf("Complete of %d results above the request limit: %v", len(results), err)
	}
	if n := store.completes.Load(); n < 2 {
		t.Fatalf("the owner got %d Complete requests, want the call split", n)
	}
	st, err := c.Stats(ctx, time.Now())
	if err != nil || st.Processed != int64(len(results)) {
		t.Fatalf("Stats = %+v, %v; want %d processed", st, err, len(results))
	}
}

// A single job larger than the owner accepts fails the call with
// ErrRequestTooLarge before anything of it is sent.
func TestJobLargerThanTheLimit(t *testing.T) {
	ctx := context.Background()
	dbPath := filepath.Join(shortDir(t), "joblot.db")
	store := &countingStore{Backend: openStore(t, dbPath, backend.Limits{})}
	serveWith(t, remote.Server{MaxRequestBytes: 64 << 10}, dbPath, store)
	c := dialPath(t, dbPath)

	jobs := append(jobsOf(100, 1000), jobsOf(1, 100<<10)...)
	_, err := c.Enqueue(ctx, jobs)
	if !errors.Is(err, remote.ErrRequestTooLarge) || !strings.Contains(err.Error(), "item 100") {
		t.Fatalf("Enqueue with one job above the limit = %v, want ErrRequestTooLarge naming item 100", err)
	}
	if n := store.enqueues.Load(); n != 0 {
		t.Fatalf("%d Enqueue requests reached the owner, want none", n)
	}
	st, err := c.Stats(ctx, time.Now())
	if err != nil || len(st.Queues) != 0 {
		t.Fatalf("Stats = %+v, %v; want nothing enqueued", st, err)
	}
}

// rawClient speaks HTTP on the socket without the Client's checks and
// splitting, as any program of the owner's user could.
func rawClient(dbPath string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", remote.SocketPath(dbPath))
		},
	}}
}

// A request above the default limit, sent raw, gets a clear refusal the
// client recognises (413 with the request_too_large code), not a dropped
// connection, and the owner keeps serving.
func TestOversizedRequestRefused(t *testing.T) {
	o := serve(t, backend.Limits{})
	body := bytes.Repeat([]byte(" "), remote.DefaultMaxRequestBytes+1<<20)
	resp, err := rawClient(o.dbPath).Post("http://joblot/v1/Enqueue", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("oversized request: %v, want an answer", err)
	}
	defer resp.Body.Close()
	var we struct{ Code, Message string }
	if err := json.NewDecoder(resp.Body).Decode(&we); err != nil {
		t.Fatalf("oversized request answered %s with an unreadable body: %v", resp.Status, err)
	}
	if resp.StatusCode != http.StatusRequestEntityTooLarge || we.Code != "request_too_large" || !strings.Contains(we.Message, fmt.Sprint(remote.DefaultMaxRequestBytes)) {
		t.Fatalf("oversized request answered %s %+v, want 413 request_too_large naming the limit", resp.Status, we)
	}
	if _, err := o.dial(t).Stats(context.Background(), time.Now()); err != nil {
		t.Fatalf("owner stopped serving after an oversized request: %v", err)
	}
}

// A client that sends its header but not its body is disconnected once the
// body timeout passes, rather than holding the connection.
func TestSlowBodyDisconnected(t *testing.T) {
	dbPath := filepath.Join(shortDir(t), "joblot.db")
	serveWith(t, remote.Server{BodyTimeout: 50 * time.Millisecond}, dbPath, openStore(t, dbPath, backend.Limits{}))
	conn, err := net.Dial("unix", remote.SocketPath(dbPath))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Only a bound against a hang: the assertion is that the owner closes.
	guard := time.Now().Add(time.Hour)
	if d, ok := t.Deadline(); ok {
		guard = d.Add(-5 * time.Second)
	}
	_ = conn.SetDeadline(guard)
	if _, err := io.WriteString(conn, "POST /v1/Stats HTTP/1.1\r\nHost: joblot\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(conn)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		t.Fatalf("slow body: %v, want the owner to answer and disconnect", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Fatalf("slow body answered %s, want 408", resp.Status)
	}
	if _, err := r.ReadByte(); err != io.EOF {
		t.Fatalf("after answering a slow body the connection reads %v, want EOF (closed by the owner)", err)
	}
}
