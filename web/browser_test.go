package web_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/web"
)

// browserTimeout bounds a whole browser test: generous, for a busy
// 2-core machine starting Chromium.
const browserTimeout = 3 * time.Minute

// chromiumPath finds a Chromium or Chrome binary ("" if none).
func chromiumPath() string {
	if p := os.Getenv("JOBLOT_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// browser is a headless Chromium on the dashboard that records every
// console error or warning, uncaught exception, browser log error or
// warning (CSP violations land there) and unexpected dialog.
type browser struct {
	ctx  context.Context
	base string
	mu   sync.Mutex
	errs []string
	// shots is where screenshots go.
	shots string
}

func newBrowser(t *testing.T, base string) *browser {
	t.Helper()
	bin := chromiumPath()
	if bin == "" {
		t.Skip("no chromium binary found (apt-get install chromium, or set JOBLOT_CHROMIUM): browser tests skipped")
	}
	ctx, cancel := context.WithTimeout(context.Background(), browserTimeout)
	t.Cleanup(cancel)
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 900), chromedp.Flag("disable-dev-shm-usage", true))
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	br := &browser{ctx: bctx, base: base, shots: os.Getenv("JOBLOT_SCREENSHOTS")}
	if br.shots == "" {
		br.shots = t.TempDir()
	} else if err := os.MkdirAll(br.shots, 0o755); err != nil {
		t.Fatal(err)
	}
	// Subscribe before the first page loads: the subscriptions start
	// when Console and Events return.
	console := chromedp.Console(bctx)
	dialogs := chromedp.Events(bctx, page.JavascriptDialogOpening)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			switch m.Type {
			case chromedp.ConsoleError, chromedp.ConsoleWarning, chromedp.ConsoleException:
				br.record("console %s %s: %s (%s:%d)", m.Type, m.Source, m.Text, m.URL, m.Line)
			}
		}
	}()
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			// The dashboard's own confirmations start with "Really";
			// anything else (an alert from job data) is a failure.
			if !strings.HasPrefix(ev.Message, "Really ") {
				br.record("unexpected dialog %s: %q", ev.Type, ev.Message)
			}
			go chromedp.Call(bctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()
	return br
}

func (b *browser) record(format string, args ...any) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errs = append(b.errs, fmt.Sprintf(format, args...))
}

// check fails the test with every error recorded so far, and clears them.
func (b *browser) check(t *testing.T, where string) {
	t.Helper()
	b.mu.Lock()
	errs := b.errs
	b.errs = nil
	b.mu.Unlock()
	for _, e := range errs {
		t.Errorf("%s: %s", where, e)
	}
}

// do runs the steps, failing the test on error.
func (b *browser) do(t *testing.T, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// text returns the text of the first element matching a CSS selector.
func (b *browser) text(t *testing.T, sel string) string {
	t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// waitJS polls a JavaScript condition until it is true, across page
// loads (an evaluation during a navigation fails and is retried).
func (b *browser) waitJS(t *testing.T, what, expr string) {
	t.Helper()
	for {
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return
		}
		select {
		case <-b.ctx.Done():
			t.Fatalf("timed out waiting for %s (%s): last error %v", what, expr, err)
		case <-time.After(20 * time.Millisecond): // paces the poll only
		}
	}
}

// shot writes a full-page screenshot named name.png.
func (b *browser) shot(t *testing.T, name string) {
	t.Helper()
	buf, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.shots, name+".png"), buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestBrowserPages loads every page in Chromium: no console error,
// exception or CSP violation, the chart draws, the xss strings show as
// text (and run nothing), and a screenshot of each page is written
// ($JOBLOT_SCREENSHOTS, else a temporary directory).
func TestBrowserPages(t *testing.T) {
	b := testBackends(t)["bolt"]
	seedFixture(t, b)
	ts := mount(t, b, nil)
	br := newBrowser(t, ts.URL+mountPath)
	names := map[string]string{"/": "overview", "/processes": "processes", "/queues": "queues", "/jobs/queued": "queued",
		"/jobs/scheduled": "scheduled", "/jobs/retry": "retries", "/jobs/dead": "dead", "/batches": "batches",
		"/batch?id=" + batchID: "batch", "/errors": "errors", "/limits": "limits", "/periodic": "periodic", "/memory": "memory"}
	for _, p := range pages {
		br.do(t, "load "+p, chromedp.Navigate(br.base+p), chromedp.WaitReady(chromedp.CSS("main h1")))
		if p == "/" {
			br.do(t, "chart", chromedp.WaitVisible(chromedp.CSS("#chart .uplot canvas")))
		}
		br.shot(t, names[p])
		br.check(t, p)
	}
	// The nav reaches the periodic jobs page, which lists both seeded
	// jobs.
	br.do(t, "periodic from the nav", chromedp.Navigate(br.base+"/"), chromedp.WaitReady(chromedp.CSS("main h1")),
		chromedp.Click(chromedp.CSS(`nav a[href$="/periodic"]`)))
	br.waitJS(t, "the periodic jobs page", `location.pathname.endsWith("/periodic") && document.querySelectorAll("tr.periodic").length === 2`)
	br.check(t, "periodic")
	// The xss strings are text: the queue name reads back exactly as
	// escaped for display, and no script of theirs ran.
	br.do(t, "queues", chromedp.Navigate(br.base+"/queues"), chromedp.WaitReady(chromedp.CSS("main table")))
	text := br.text(t, "main table tbody")
	injected, err := chromedp.Run(br.ctx, chromedp.Evaluate[bool](`document.querySelectorAll("main script").length > 0`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, `q<script>alert("x")</script>'\x01\u202e`) || injected {
		t.Fatalf("queues table text %q, injected script %v", text, injected)
	}
	br.check(t, "xss")
}

// TestBrowserActions drives the actions in Chromium: filter the dead set
// by error group from the errors page, retry a dead job and see the count
// change, pause and resume a queue, cancel a batch.
func TestBrowserActions(t *testing.T) {
	b := testBackends(t)["bolt"]
	seedFixture(t, b)
	ts := mount(t, b, nil)
	br := newBrowser(t, ts.URL+mountPath)
	in := joblot.NewInspector(b)
	ctx := context.Background()

	// Filter by error group: the errors page links each group to its
	// dead jobs; the rows shown are exactly the group's.
	br.do(t, "errors page", chromedp.Navigate(br.base+"/errors"), chromedp.WaitReady(chromedp.CSS("tr.group a.dead-link")),
		chromedp.Click(chromedp.CSS("tr.group a.dead-link")))
	br.waitJS(t, "the group filter", `document.readyState === "complete" && location.pathname.endsWith("/jobs/dead") && new URLSearchParams(location.search).get("group") !== null`)
	group, err := chromedp.Run(br.ctx, chromedp.Evaluate[string](`new URLSearchParams(location.search).get("group")`))
	if err != nil {
		t.Fatal(err)
	}
	want, err := in.Page(ctx, backend.JobFilter{Set: backend.SetDead, ErrorFingerprint: group, Queue: plainQueue})
	if err != nil {
		t.Fatal(err)
	}
	rows, err := chromedp.Run(br.ctx, chromedp.Evaluate[int](`document.querySelectorAll("tr.job").length`))
	if err != nil {
		t.Fatal(err)
	}
	if rows == 0 || rows != len(want.Jobs) || rows == 7 {
		t.Fatalf("group filter %q shows %d rows, the store has %d in the group (of 7 dead)", group, rows, len(want.Jobs))
	}
	br.shot(t, "dead-by-group")
	br.check(t, "filter by group")

	// Retry one dead job: the set's count goes from 7 to 6.
	br.do(t, "dead page", chromedp.Navigate(br.base+"/jobs/dead"), chromedp.WaitReady(chromedp.CSS("#set-total")))
	if before := br.text(t, "#set-total"); before != "7" {
		t.Fatalf("dead count %s before the retry, want 7", before)
	}
	br.do(t, "retry", chromedp.Click(chromedp.CSS("tr.job button.retry")))
	br.waitJS(t, "the dead count to drop to 6", `!!document.getElementById("set-total") && document.getElementById("set-total").textContent === "6"`)
	br.check(t, "retry")

	// Pause and resume the first queue.
	for _, step := range []struct {
		button string
		paused bool
	}{{"button.pause", true}, {"button.resume", false}} {
		other := map[bool]string{true: "button.resume", false: "button.pause"}[step.paused]
		br.do(t, step.button, chromedp.Navigate(br.base+"/queues"), chromedp.WaitReady(chromedp.CSS(step.button)),
			chromedp.Click(chromedp.CSS(step.button)))
		br.waitJS(t, "the queue's new state", `!!document.querySelector("tbody tr:first-child `+other+`")`)
		st, err := in.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if q := st.Queues[0]; q.Paused != step.paused {
			t.Fatalf("after %s queue %q paused=%v", step.button, q.Name, q.Paused)
		}
	}
	br.check(t, "pause and resume")

	// Cancel the batch, accepting the confirmation.
	br.do(t, "batch page", chromedp.Navigate(br.base+"/batch?id="+batchID), chromedp.WaitReady(chromedp.CSS("#cancel-batch")),
		chromedp.Click(chromedp.CSS("#cancel-batch")))
	br.waitJS(t, "the batch to show cancelled", `!document.getElementById("cancel-batch") && !!document.getElementById("batch-state")`)
	bs, err := in.Batch(ctx, batchID)
	if err != nil || bs.CancelledAt.IsZero() {
		t.Fatalf("batch not cancelled: %+v %v", bs, err)
	}
	br.shot(t, "batch-cancelled")
	br.check(t, "cancel batch")
}

// TestBrowserLiveRefresh: htmx refreshes the queues table in place. A job
// enqueued on a new queue shows up while the page stays the same document
// (a marker set on window survives, so nothing reloaded).
func TestBrowserLiveRefresh(t *testing.T) {
	b := testBackends(t)["bolt"]
	seedFixture(t, b)
	ts := mount(t, b, func(o *web.Options) { o.Refresh = 200 * time.Millisecond })
	br := newBrowser(t, ts.URL+mountPath)
	br.do(t, "queues", chromedp.Navigate(br.base+"/queues"), chromedp.WaitReady(chromedp.CSS("main table")))
	if _, err := chromedp.Run(br.ctx, chromedp.Evaluate[bool](`window.joblotMarker = true`)); err != nil {
		t.Fatal(err)
	}
	job := &backend.Job{ID: backend.NewJobID(), Kind: "late", Queue: "late-queue", Args: []byte(`{}`), CreatedAt: time.Now()}
	if _, err := b.Enqueue(context.Background(), []*backend.Job{job}); err != nil {
		t.Fatal(err)
	}
	br.waitJS(t, "the new queue to show without a reload", `window.joblotMarker === true && document.querySelector("main table").textContent.includes("late-queue")`)
	br.check(t, "live refresh")
}

// TestBrowserProcesses: the processes page shows a process's in-flight
// jobs, each opening its job page, and its Stop button, once confirmed,
// leaves the stop request in the store.
func TestBrowserProcesses(t *testing.T) {
	b := testBackends(t)["bolt"]
	seedFixture(t, b)
	held := holdJobs(t, b, "worker-1", xssQueue, 2)
	ts := mount(t, b, nil)
	br := newBrowser(t, ts.URL+mountPath)
	br.do(t, "processes", chromedp.Navigate(br.base+"/processes"), chromedp.WaitReady(chromedp.CSS("li.inflight-job a")))
	n, err := chromedp.Run(br.ctx, chromedp.Evaluate[int](`document.querySelectorAll("li.inflight-job").length`))
	if err != nil || n != len(held) {
		t.Fatalf("the page lists %d in-flight jobs (%v), want %d", n, err, len(held))
	}
	br.shot(t, "processes-inflight")
	br.do(t, "open an in-flight job", chromedp.Click(chromedp.CSS("li.inflight-job a")))
	br.waitJS(t, "the job page", `location.pathname.endsWith("/job") && document.readyState === "complete" && !!document.querySelector("main h1")`)
	br.check(t, "in-flight jobs")

	br.do(t, "stop", chromedp.Navigate(br.base+"/processes"), chromedp.WaitReady(chromedp.CSS("button.stop")),
		chromedp.Click(chromedp.CSS("button.stop")))
	st := b.(backend.Stopper)
	deadline := time.Now().Add(browserTimeout)
	for {
		requested, err := st.StopRequested(context.Background(), "worker-1")
		if err != nil {
			t.Fatal(err)
		}
		if requested {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the Stop button left no stop request in the store")
		}
		time.Sleep(20 * time.Millisecond) // paces the poll only
	}
	br.check(t, "stop")
}
