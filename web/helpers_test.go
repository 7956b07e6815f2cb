package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/bolt"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/redistest"
	"github.com/joblot/joblot/web"
)

// xss is put into every job-provided string: markup, both quotes, a
// control byte and a bidi override.
const xss = "<script>alert(\"x\")</script>'\x01\u202e"

// xssQueue, xssKind... are the seeded names that carry xss.
const (
	xssQueue   = "q" + xss
	xssKind    = "kind" + xss
	xssMessage = "boom" + xss
	xssDesc    = "desc" + xss
	plainQueue = "default"
	batchID    = "b1"
	childID    = "b1-child"
	mountPath  = "/admin/jobs"
)

// testBackends opens a fresh store of each backend.
func testBackends(t testing.TB) map[string]backend.Backend {
	t.Helper()
	srv := redistest.Start(t)
	rb, err := redis.Open(context.Background(), redis.Options{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rb.Close() })
	bb, err := bolt.Open(filepath.Join(t.TempDir(), "joblot.db"), bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bb.Close() })
	return map[string]backend.Backend{"redis": rb, "bolt": bb}
}

// seedSpec is a group of jobs to create in a set.
type seedSpec struct {
	set         backend.JobSet
	queue, kind string
	batch       string
	errMsg, fp  string
	n           int
}

// seedFixture fills b with jobs in every set, the xss strings in args,
// kinds, queue names, a batch description and error messages, a batch
// with a child batch and callbacks, and returns nothing: tests read the
// store back through the dashboard.
func seedFixture(t testing.TB, b backend.Backend) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	cb := &backend.Job{Kind: "cb" + xss, Queue: plainQueue, Args: []byte(`{}`)}
	for _, spec := range []*backend.BatchSpec{
		{ID: batchID, Description: xssDesc, CreatedAt: now, CommitDeadline: now.Add(time.Hour), Callbacks: map[backend.CallbackEvent]*backend.Job{backend.CallbackComplete: cb}},
		{ID: childID, Description: "child " + xss, ParentID: batchID, CreatedAt: now, CommitDeadline: now.Add(time.Hour)},
	} {
		if err := b.CreateBatch(ctx, spec); err != nil {
			t.Fatalf("create batch %s: %v", spec.ID, err)
		}
	}
	seedPeriodic(t, b)
	seed(t, b, []seedSpec{
		{set: backend.SetQueued, queue: xssQueue, kind: xssKind, n: 3},
		{set: backend.SetScheduled, queue: plainQueue, kind: xssKind, n: 2},
		{set: backend.SetRetry, queue: plainQueue, kind: "retrying", errMsg: xssMessage, n: 2},
		{set: backend.SetDead, queue: plainQueue, kind: "dying", errMsg: xssMessage, n: 3},
		{set: backend.SetDead, queue: plainQueue, kind: "other", errMsg: "timeout after 5s", n: 2},
		{set: backend.SetDead, queue: plainQueue, kind: "dying", batch: batchID, errMsg: xssMessage, n: 2},
		{set: backend.SetQueued, queue: "batchq", kind: "batched", batch: batchID, n: 2},
	})
}

// periodicLast is the last instant recorded for the seeded periodic jobs.
var periodicLast = time.Date(2026, 11, 30, 3, 0, 0, 0, time.UTC)

// seedPeriodic stores two periodic definitions, as a leading server
// writes them: a valid daily one and one whose every field carries xss
// (so its schedule does not parse), both with a last instant.
func seedPeriodic(t testing.TB, b backend.Backend) {
	t.Helper()
	ctx := context.Background()
	defs := []backend.PeriodicDef{
		{Name: "nightly-report", Schedule: "0 3 * * *", Queue: plainQueue, Kind: "report", Missed: "run_once"},
		{Name: "p" + xss, Schedule: "s" + xss, Queue: xssQueue, Kind: xssKind, Missed: "m" + xss},
	}
	if err := b.SetPeriodic(ctx, defs); err != nil {
		t.Fatalf("SetPeriodic: %v", err)
	}
	for _, d := range defs {
		if _, err := b.FirePeriodic(ctx, backend.FirePeriodicParams{Name: d.Name, Queue: d.Queue, Instant: periodicLast}); err != nil {
			t.Fatalf("FirePeriodic(%s): %v", d.Name, err)
		}
	}
}

// seed creates the groups of jobs. Scheduled jobs are enqueued an hour
// ahead; retry and dead jobs are enqueued, fetched and completed with that
// outcome, as a server would.
func seed(t testing.TB, b backend.Backend, specs []seedSpec) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	outcome := map[string]seedSpec{}
	var failing []string
	for _, s := range specs {
		jobs := make([]*backend.Job, s.n)
		for k := range jobs {
			jobs[k] = &backend.Job{ID: backend.NewJobID(), Kind: s.kind, Queue: s.queue, CreatedAt: now,
				Args: []byte(fmt.Sprintf(`{"n":%d,"s":%q}`, k, xss))}
			if s.set == backend.SetScheduled {
				jobs[k].RunAt = now.Add(time.Hour)
			}
			outcome[jobs[k].ID] = s
		}
		var err error
		if s.batch != "" {
			err = b.AddToBatch(ctx, &backend.BatchAdd{BatchID: s.batch, Jobs: jobs})
		} else {
			_, err = b.Enqueue(ctx, jobs)
		}
		if err != nil {
			t.Fatalf("seed %+v: %v", s, err)
		}
		if s.set == backend.SetRetry || s.set == backend.SetDead {
			failing = append(failing, s.queue)
		}
	}
	for {
		res, err := b.Fetch(ctx, backend.FetchParams{Proc: "seeder", Queues: failing, Max: 100})
		if err != nil {
			t.Fatal(err)
		}
		fetched := res.Jobs
		var results []backend.Result
		for _, f := range fetched {
			s := outcome[f.ID]
			if s.set != backend.SetRetry && s.set != backend.SetDead {
				t.Fatalf("seed: job %s of set %s was fetched: keep queued jobs on queues without failures", f.ID, s.set)
			}
			j := f.Job.Clone()
			j.Attempt++
			j.ErrorClass, j.ErrorMessage, j.ErrorFingerprint, j.FailedAt = "Error"+xss, s.errMsg, s.fp, now
			r := backend.Result{Fetched: f, Job: j, Duration: time.Millisecond}
			if s.set == backend.SetRetry {
				r.Outcome, r.RetryAt = backend.OutcomeRetry, now.Add(time.Hour)
			} else {
				r.Outcome, j.DiedAt = backend.OutcomeDead, now
			}
			results = append(results, r)
		}
		if len(results) == 0 {
			return
		}
		if err := b.Complete(ctx, "seeder", results); err != nil {
			t.Fatal(err)
		}
	}
}

// mount serves the dashboard of b under mountPath in a mux of its own, as
// a user would, and returns the test server.
func mount(t testing.TB, b backend.Backend, mod func(*web.Options)) *httptest.Server {
	t.Helper()
	opts := web.Options{Inspector: joblot.NewInspector(b), BasePath: mountPath}
	if m, ok := b.(backend.MemoryReporter); ok {
		opts.Memory = m
	}
	if mod != nil {
		mod(&opts)
	}
	h, err := web.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(mountPath+"/", h)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "host app", http.StatusTeapot)
	})
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts
}
