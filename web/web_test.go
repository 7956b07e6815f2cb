package web_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/web"
)

// pages are the dashboard's top-level pages, under the mount path.
var pages = []string{"/", "/processes", "/queues", "/jobs/queued", "/jobs/scheduled", "/jobs/retry", "/jobs/dead",
	"/batches", "/batch?id=" + batchID, "/errors", "/periodic", "/memory"}

// get fetches a URL and returns its status and body.
func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}

// post sends a same-origin form, as the dashboard's own forms do, without
// following the redirect.
func post(t *testing.T, ts string, path string, form url.Values) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, ts+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

var (
	hrefRE   = regexp.MustCompile(`(?:href|src|hx-get|data-src)="([^"]*)"|<form method="get" action="([^"]*)"`)
	postRE   = regexp.MustCompile(`<form method="post" action="([^"]*)"`)
	rawXSSRE = regexp.MustCompile(`<script>alert|\x01|\x{202e}`)
)

// TestPagesRenderAndEscape loads every page on both backends with the
// xss strings in every job-provided field: each answers 200 with the CSP,
// shows the strings as escaped text (markup as entities, the control byte
// and the bidi override as visible escapes) and never raw.
func TestPagesRenderAndEscape(t *testing.T) {
	for name, b := range testBackends(t) {
		t.Run(name, func(t *testing.T) {
			seedFixture(t, b)
			ts := mount(t, b, nil)
			for _, p := range pages {
				resp, err := http.Get(ts.URL + mountPath + p)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("GET %s: %d %s", p, resp.StatusCode, body)
				}
				if c := resp.Header.Get("Content-Security-Policy"); !strings.Contains(c, "script-src 'self'") || strings.Contains(c, "unsafe-inline") {
					t.Errorf("GET %s: CSP %q", p, c)
				}
				if m := rawXSSRE.Find(body); m != nil {
					t.Errorf("GET %s: raw %q in the page", p, m)
				}
				if strings.Contains(string(body), " style=") || strings.Contains(string(body), "<style") || strings.Contains(string(body), " on") && regexp.MustCompile(` on[a-z]+=`).Match(body) {
					t.Errorf("GET %s: inline style or handler", p)
				}
			}
			// The strings show, escaped, where they belong.
			for p, want := range map[string]string{
				"/queues":              "q&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&#39;\\x01\\u202e",
				"/jobs/queued":         "kind&lt;script&gt;",
				"/jobs/dead":           "boom&lt;script&gt;alert(&#34;x&#34;)",
				"/batches":             "desc&lt;script&gt;",
				"/batch?id=" + batchID: "cb&lt;script&gt;",
			} {
				_, body := get(t, ts.URL+mountPath+p)
				if !strings.Contains(body, want) {
					t.Errorf("GET %s: no %q in the page", p, want)
				}
			}
		})
	}
}

// TestEveryLinkWorks follows every link, asset, live-refresh URL and GET
// form of every page with the dashboard mounted under /admin/jobs/ of a
// host mux: each stays under the mount path and answers 200.
func TestEveryLinkWorks(t *testing.T) {
	b := testBackends(t)["bolt"]
	seedFixture(t, b)
	ts := mount(t, b, nil)
	seen := map[string]bool{}
	queue := []string{}
	for _, p := range pages {
		queue = append(queue, mountPath+p)
	}
	for len(queue) > 0 && len(seen) < 400 {
		u := queue[0]
		queue = queue[1:]
		if seen[u] {
			continue
		}
		seen[u] = true
		code, body := get(t, ts.URL+u)
		if code != http.StatusOK {
			t.Errorf("GET %s: %d", u, code)
			continue
		}
		for _, m := range hrefRE.FindAllStringSubmatch(body, -1) {
			link := html.UnescapeString(m[1] + m[2])
			if !strings.HasPrefix(link, mountPath+"/") {
				t.Errorf("page %s links outside the mount path: %q", u, link)
				continue
			}
			queue = append(queue, link)
		}
		for _, m := range postRE.FindAllStringSubmatch(body, -1) {
			if !strings.HasPrefix(html.UnescapeString(m[1]), mountPath+"/") {
				t.Errorf("page %s posts outside the mount path: %q", u, m[1])
			}
		}
	}
	if len(seen) < 30 {
		t.Fatalf("followed only %d links", len(seen))
	}
	if code, body := get(t, ts.URL+mountPath+"/errors?since=2h"); code != http.StatusOK || !strings.Contains(body, "boom&lt;script&gt;") {
		t.Errorf("errors since 2h: %d, or no group", code)
	}
	for _, bad := range []string{"/errors?since=soon", "/jobs/nosuchset", "/batches?before=x"} {
		if code, _ := get(t, ts.URL+mountPath+bad); code != http.StatusBadRequest && code != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 400 or 404", bad, code)
		}
	}
}

// TestWritesMoveJobs retries one dead job, deletes the dead jobs of a
// filter, pauses and resumes a queue, cancels a batch and clears a queue
// through the forms' endpoints, and checks the store after each.
func TestWritesMoveJobs(t *testing.T) {
	for name, b := range testBackends(t) {
		t.Run(name, func(t *testing.T) {
			seedFixture(t, b)
			ts := mount(t, b, nil)
			in := joblot.NewInspector(b)
			ctx := context.Background()
			dead := func() int64 {
				st, err := in.Stats(ctx)
				if err != nil {
					t.Fatal(err)
				}
				q, _ := st.Queue(plainQueue)
				return q.Dead
			}
			if n := dead(); n != 7 {
				t.Fatalf("seeded dead %d, want 7", n)
			}
			page, err := in.Page(ctx, backend.JobFilter{Set: backend.SetDead, Kind: "other"})
			if err != nil || len(page.Jobs) != 2 {
				t.Fatalf("dead other: %v %v", page, err)
			}
			j := page.Jobs[0]
			if r := post(t, ts.URL, mountPath+"/jobs/dead/act", url.Values{"scope": {"one"}, "action": {"retry"}, "id": {j.ID}, "jq": {j.Queue}}); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("retry one: %d", r.StatusCode)
			}
			if n := dead(); n != 6 {
				t.Fatalf("dead after retrying one: %d, want 6", n)
			}
			// The confirmation states the count of the filter.
			_, body := get(t, ts.URL+mountPath+"/jobs/dead/confirm?action=delete&kind=dying")
			if !strings.Contains(body, `<strong id="confirm-count">5</strong>`) {
				t.Fatalf("confirmation does not state 5 jobs: %s", body)
			}
			if r := post(t, ts.URL, mountPath+"/jobs/dead/act", url.Values{"scope": {"filter"}, "action": {"delete"}, "kind": {"dying"}}); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("delete filter: %d", r.StatusCode)
			}
			if n := dead(); n != 1 {
				t.Fatalf("dead after deleting kind dying: %d, want 1", n)
			}
			for _, step := range []struct {
				path   string
				paused bool
			}{{"/queues/pause", true}, {"/queues/resume", false}} {
				if r := post(t, ts.URL, mountPath+step.path, url.Values{"queue": {xssQueue}}); r.StatusCode != http.StatusSeeOther {
					t.Fatalf("%s: %d", step.path, r.StatusCode)
				}
				st, _ := in.Stats(ctx)
				if q, _ := st.Queue(xssQueue); q.Paused != step.paused {
					t.Fatalf("after %s paused=%v", step.path, q.Paused)
				}
			}
			_, body = get(t, ts.URL+mountPath+"/queues/clear?queue="+url.QueryEscape(xssQueue))
			if !strings.Contains(body, `<strong id="confirm-count">3</strong>`) {
				t.Fatalf("clear confirmation does not state 3 jobs: %s", body)
			}
			post(t, ts.URL, mountPath+"/queues/clear", url.Values{"queue": {xssQueue}})
			st, _ := in.Stats(ctx)
			if q, _ := st.Queue(xssQueue); q.Size != 0 {
				t.Fatalf("queue size after clear: %d", q.Size)
			}
			// Quiet a live process: Stats reports it quiet at once.
			if err := b.Heartbeat(ctx, backend.ProcessInfo{ID: "proc" + xss, Hostname: "host" + xss, PID: 1, Queues: []string{plainQueue}, Concurrency: 2, StartedAt: time.Now()}, time.Hour); err != nil {
				t.Fatal(err)
			}
			if _, body := get(t, ts.URL+mountPath+"/processes"); !strings.Contains(body, "host&lt;script&gt;") || !strings.Contains(body, ">Quiet</button>") {
				t.Fatalf("processes page does not show the live process with a quiet button:\n%s", body)
			}
			if r := post(t, ts.URL, mountPath+"/processes/quiet", url.Values{"id": {url.QueryEscape("proc" + xss)}}); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("quiet: %d", r.StatusCode)
			}
			st, _ = in.Stats(ctx)
			if len(st.Processes) != 1 || !st.Processes[0].Quiet {
				t.Fatalf("process not quiet: %+v", st.Processes)
			}
			if r := post(t, ts.URL, mountPath+"/batch/cancel", url.Values{"id": {batchID}}); r.StatusCode != http.StatusSeeOther {
				t.Fatalf("cancel batch: %d", r.StatusCode)
			}
			bs, err := in.Batch(ctx, batchID)
			if err != nil || bs.CancelledAt.IsZero() {
				t.Fatalf("batch not cancelled: %+v %v", bs, err)
			}
		})
	}
}

// TestReadOnly: no write control on any page, and every write is refused
// with 403, leaving the store as it was.
func TestReadOnly(t *testing.T) {
	b := testBackends(t)["bolt"]
	seedFixture(t, b)
	ts := mount(t, b, func(o *web.Options) { o.ReadOnly = true })
	for _, p := range pages {
		_, body := get(t, ts.URL+mountPath+p)
		if strings.Contains(body, `method="post"`) || strings.Contains(body, "/confirm?") {
			t.Errorf("read-only %s shows a write control", p)
		}
	}
	for _, p := range []string{"/queues/pause", "/jobs/dead/act", "/batch/cancel", "/processes/quiet", "/queues/clear"} {
		if r := post(t, ts.URL, mountPath+p, url.Values{"queue": {plainQueue}, "id": {batchID}, "scope": {"filter"}, "action": {"delete"}}); r.StatusCode != http.StatusForbidden {
			t.Errorf("read-only POST %s: %d, want 403", p, r.StatusCode)
		}
	}
	st, _ := joblot.NewInspector(b).Stats(context.Background())
	if q, _ := st.Queue(plainQueue); q.Dead != 7 || q.Paused {
		t.Fatalf("read-only writes changed the store: %+v", q)
	}
}

// TestAuthorize: the hook sees reads and writes apart; a refused request
// gets 403.
func TestAuthorize(t *testing.T) {
	b := testBackends(t)["bolt"]
	seedFixture(t, b)
	var asked []web.Access
	ts := mount(t, b, func(o *web.Options) {
		o.Authorize = func(r *http.Request, a web.Access) bool {
			asked = append(asked, a)
			return a == web.AccessRead && r.URL.Query().Get("deny") == ""
		}
	})
	if code, _ := get(t, ts.URL+mountPath+"/queues"); code != http.StatusOK {
		t.Fatalf("allowed read: %d", code)
	}
	if code, _ := get(t, ts.URL+mountPath+"/queues?deny=1"); code != http.StatusForbidden {
		t.Fatalf("refused read: %d", code)
	}
	if r := post(t, ts.URL, mountPath+"/queues/pause", url.Values{"queue": {plainQueue}}); r.StatusCode != http.StatusForbidden {
		t.Fatalf("refused write: %d", r.StatusCode)
	}
	if len(asked) != 3 || asked[2] != web.AccessWrite {
		t.Fatalf("hook asked %v", asked)
	}
}

// TestCrossOriginWritesRefused: a POST a browser marks cross-site, or
// whose Origin is another host, is refused before it reaches a handler.
func TestCrossOriginWritesRefused(t *testing.T) {
	b := testBackends(t)["bolt"]
	seedFixture(t, b)
	ts := mount(t, b, nil)
	for _, hdr := range []map[string]string{{"Sec-Fetch-Site": "cross-site"}, {"Origin": "http://evil.example"}} {
		req, _ := http.NewRequest(http.MethodPost, ts.URL+mountPath+"/queues/pause", strings.NewReader("queue="+plainQueue))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%v: %d, want 403", hdr, resp.StatusCode)
		}
	}
	st, _ := joblot.NewInspector(b).Stats(context.Background())
	if q, _ := st.Queue(plainQueue); q.Paused {
		t.Fatal("a cross-origin POST paused the queue")
	}
}

// TestPagination walks the dead set page by page with the Next links
// (keyset cursors), filters kept, and sees every job once.
func TestPagination(t *testing.T) {
	b := testBackends(t)["bolt"]
	seedFixture(t, b)
	ts := mount(t, b, func(o *web.Options) { o.PageSize = 2 })
	next := ts.URL + mountPath + "/jobs/dead?queue=" + plainQueue
	ids := map[string]bool{}
	idRE := regexp.MustCompile(`<tr class="job" data-id="([^"]+)"`)
	nextRE := regexp.MustCompile(`<a href="([^"]+)" id="next">`)
	for pages := 0; next != ""; pages++ {
		if pages > 10 {
			t.Fatal("too many pages")
		}
		_, body := get(t, next)
		for _, m := range idRE.FindAllStringSubmatch(body, -1) {
			if ids[m[1]] {
				t.Fatalf("job %s on two pages", m[1])
			}
			ids[m[1]] = true
		}
		next = ""
		if m := nextRE.FindStringSubmatch(body); m != nil {
			next = ts.URL + html.UnescapeString(m[1])
			if !strings.Contains(next, "queue="+plainQueue) {
				t.Fatalf("next link lost the filter: %s", next)
			}
		}
	}
	if len(ids) != 7 {
		t.Fatalf("saw %d dead jobs, want 7", len(ids))
	}
}

// TestNewNeedsInspector: the one required option.
func TestNewNeedsInspector(t *testing.T) {
	if _, err := web.New(web.Options{}); err != web.ErrNoInspector {
		t.Fatalf("New without an inspector: %v", err)
	}
}

// TestLongStringsAreCut: a job's long error message and args show cut in
// the dead set's table (ending in an ellipsis), never whole.
func TestLongStringsAreCut(t *testing.T) {
	b := testBackends(t)["bolt"]
	long := strings.Repeat("A", 5000) + "TAIL"
	seed(t, b, []seedSpec{{set: backend.SetDead, queue: plainQueue, kind: "k", errMsg: long, n: 1}})
	ts := mount(t, b, nil)
	_, body := get(t, ts.URL+mountPath+"/jobs/dead")
	if strings.Contains(body, "TAIL") || !strings.Contains(body, strings.Repeat("A", 150)) || !strings.Contains(body, "A…") {
		t.Fatalf("the long message is not cut to a bounded prefix with an ellipsis (page %d bytes)", len(body))
	}
	if len(body) > 40000 {
		t.Fatalf("page of one job is %d bytes", len(body))
	}
}

// TestRetryPage retries the jobs of one page (the ids and queues the page's
// form carries, percent-encoded as the page writes them): exactly those
// leave the dead set.
func TestRetryPage(t *testing.T) {
	b := testBackends(t)["redis"]
	seed(t, b, []seedSpec{{set: backend.SetDead, queue: xssQueue, kind: "k", errMsg: "boom", n: 5}})
	ts := mount(t, b, func(o *web.Options) { o.PageSize = 3 })
	_, body := get(t, ts.URL+mountPath+"/jobs/dead")
	form := url.Values{"scope": {"page"}, "action": {"retry"}}
	for _, m := range regexp.MustCompile(`<input type="hidden" name="(id|jq)" value="([^"]*)">`).FindAllStringSubmatch(body, -1) {
		form[m[1]] = append(form[m[1]], html.UnescapeString(m[2]))
	}
	// The page form comes first: its fields are the first 3 pairs.
	form["id"], form["jq"] = form["id"][:3], form["jq"][:3]
	if r := post(t, ts.URL, mountPath+"/jobs/dead/act", form); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("retry page: %d", r.StatusCode)
	}
	st, _ := joblot.NewInspector(b).Stats(context.Background())
	if q, _ := st.Queue(xssQueue); q.Dead != 2 || q.Size != 3 {
		t.Fatalf("after retrying a page of 3: dead %d, queued %d; want 2, 3", q.Dead, q.Size)
	}
}
