package web_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/joblot/joblot/backend"
)

// readmeShotEnv names the environment variable that makes
// TestBrowserReadmeScreenshot write the README's screenshot
// (docs/dashboard.png) instead of a temporary file:
//
//	JOBLOT_README_SHOT=1 go test -run TestBrowserReadmeScreenshot ./web/
const readmeShotEnv = "JOBLOT_README_SHOT"

// seedRealistic fills b as a small production store looks: a few queues
// with waiting work, a batch part way through, retries, scheduled jobs,
// a worker holding jobs, and dead jobs in a few error groups. Nothing in
// it is test markup.
func seedRealistic(t testing.TB, b backend.Backend) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	n := 0
	job := func(queue, kind, args string) *backend.Job {
		n++
		return &backend.Job{ID: backend.NewJobID(), Kind: kind, Queue: queue, CreatedAt: now.Add(-time.Duration(n) * time.Second),
			Args: []byte(args), MaxRetries: 25}
	}
	enqueue := func(jobs ...*backend.Job) {
		if _, err := b.Enqueue(ctx, jobs); err != nil {
			t.Fatal(err)
		}
	}
	spec := &backend.BatchSpec{ID: "import-2026-12-01", Description: "Nightly customer import (12 files)", CreatedAt: now.Add(-20 * time.Minute),
		CommitDeadline: now.Add(time.Hour), Callbacks: map[backend.CallbackEvent]*backend.Job{
			backend.CallbackComplete: {Kind: "import_report", Queue: "default", Args: []byte(`{}`)}}}
	if err := b.CreateBatch(ctx, spec); err != nil {
		t.Fatal(err)
	}
	var imports []*backend.Job
	for i := range 12 {
		imports = append(imports, job("imports", "import_file", fmt.Sprintf(`{"file":"customers-%02d.csv"}`, i+1)))
	}
	if err := b.AddToBatch(ctx, &backend.BatchAdd{BatchID: spec.ID, Jobs: imports}); err != nil {
		t.Fatal(err)
	}
	if err := b.CommitBatch(ctx, spec.ID); err != nil {
		t.Fatal(err)
	}
	// What fails, and how: the error groups of the dead and retry sets.
	failures := map[string]struct{ class, msg string }{}
	fail := func(j *backend.Job, class, msg string) *backend.Job {
		failures[j.ID] = struct{ class, msg string }{class, msg}
		return j
	}
	var mail, reports []*backend.Job
	for i := range 6 {
		mail = append(mail, fail(job("mailers", "send_receipt", fmt.Sprintf(`{"order":%d}`, 81230+i)), "*net.OpError",
			fmt.Sprintf("smtp: 421 too many connections from 10.0.3.%d", 11+i)))
	}
	for i := range 3 {
		reports = append(reports, fail(job("reports", "render_invoice_pdf", fmt.Sprintf(`{"invoice":"INV-%d"}`, 5510+i)), "context.deadlineExceededError",
			"render: context deadline exceeded after 30s"))
	}
	reports = append(reports, fail(job("reports", "render_invoice_pdf", `{"invoice":"INV-5600"}`), "*errors.errorString", "template: missing field \"vat_number\""))
	enqueue(mail...)
	enqueue(reports...)
	// The imports: 5 succeed, one dies on a bad row, 2 are being worked
	// on, the rest wait.
	fetched, err := b.Fetch(ctx, backend.FetchParams{Proc: "seeder", Queues: []string{"mailers", "reports", "imports"}, Max: 100})
	if err != nil {
		t.Fatal(err)
	}
	var results []backend.Result
	done := 0
	for _, f := range fetched.Jobs {
		r := backend.Result{Fetched: f, Duration: 120 * time.Millisecond}
		fl, failing := failures[f.ID]
		switch {
		case f.Queue == "imports" && done < 5:
			r.Outcome = backend.OutcomeSucceeded
			done++
		case f.Queue == "imports" && done == 5:
			fl, failing = struct{ class, msg string }{"*csv.ParseError", "parse customers-06.csv: record on line 4012: wrong number of fields"}, true
			done++
		case !failing:
			// Back to its queue untouched: it waits.
			r.Outcome = backend.OutcomeRequeue
		}
		if failing {
			j := f.Job.Clone()
			j.Attempt++
			j.ErrorClass, j.ErrorMessage, j.FailedAt = fl.class, fl.msg, now
			r.Job = j
			if f.Queue == "mailers" && strings.HasSuffix(fl.msg, "11") {
				r.Outcome, r.RetryAt = backend.OutcomeRetry, now.Add(90*time.Second)
			} else {
				r.Outcome, j.DiedAt = backend.OutcomeDead, now
			}
		}
		results = append(results, r)
	}
	if err := b.Complete(ctx, "seeder", results); err != nil {
		t.Fatal(err)
	}
	enqueue(job("default", "sync_inventory", `{"warehouse":"ams-2"}`), job("default", "refresh_search_index", `{"shard":3}`),
		job("mailers", "send_newsletter", `{"segment":"weekly"}`))
	later := job("default", "expire_trials", `{}`)
	later.RunAt = now.Add(6 * time.Hour)
	enqueue(later)
	holdJobs(t, b, "web-7f9c4-1", "imports", 2)
}

// TestBrowserReadmeScreenshot renders the overview of a realistic store
// in Chromium, checks it loads cleanly, and writes the README's
// screenshot when JOBLOT_README_SHOT is set (a temporary file otherwise).
func TestBrowserReadmeScreenshot(t *testing.T) {
	b := testBackends(t)["bolt"]
	seedRealistic(t, b)
	ts := mount(t, b, nil)
	br := newBrowser(t, ts.URL+mountPath)
	br.do(t, "overview", chromedp.Navigate(br.base+"/"), chromedp.WaitReady(chromedp.CSS("main h1")),
		chromedp.WaitVisible(chromedp.CSS("#chart .uplot canvas")))
	text := br.text(t, "main")
	for _, want := range []string{"imports", "mailers", "reports", "default"} {
		if !strings.Contains(text, want) {
			t.Errorf("the overview lacks queue %q", want)
		}
	}
	if strings.Contains(text, "script") || strings.Contains(text, `\x01`) {
		t.Errorf("the README fixture shows test markup: %q", text)
	}
	br.check(t, "overview")
	buf, err := chromedp.Run(br.ctx, chromedp.FullScreenshot(100)) // 100 gives a PNG, less a JPEG
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "dashboard.png")
	if os.Getenv(readmeShotEnv) != "" {
		out = filepath.Join("..", "docs", "dashboard.png")
	}
	if err := os.WriteFile(out, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s", out)
}
