package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/web"
)

// holdJobs registers process proc and has it claim up to n jobs of queue,
// as a server would; it returns their IDs.
func holdJobs(t testing.TB, b backend.Backend, proc, queue string, n int) []string {
	t.Helper()
	ctx := context.Background()
	info := backend.ProcessInfo{ID: proc, Hostname: "worker-host", PID: 4242, Queues: []string{queue}, Concurrency: 10, StartedAt: time.Now()}
	if err := b.Heartbeat(ctx, info, time.Hour); err != nil {
		t.Fatal(err)
	}
	res, err := b.Fetch(ctx, backend.FetchParams{Proc: proc, Queues: []string{queue}, Max: n})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, f := range res.Jobs {
		ids = append(ids, f.ID)
	}
	return ids
}

// TestProcessesShowInFlightJobs: the processes page lists each process's
// in-flight jobs, on both backends, each linked to its job page and with
// its job-provided strings escaped; a process holding none lists none.
func TestProcessesShowInFlightJobs(t *testing.T) {
	for name, b := range testBackends(t) {
		t.Run(name, func(t *testing.T) {
			seedFixture(t, b)
			held := holdJobs(t, b, "busy-proc", xssQueue, 2)
			if len(held) != 2 {
				t.Fatalf("held %d jobs, want 2", len(held))
			}
			holdJobs(t, b, "idle-proc", "nothing-here", 1)
			ts := mount(t, b, nil)
			_, body := get(t, ts.URL+mountPath+"/processes")
			if n := strings.Count(body, `<li class="inflight-job">`); n != 2 {
				t.Fatalf("the page lists %d in-flight jobs, want 2:\n%s", n, body)
			}
			if n := strings.Count(body, `<tr class="proc-jobs">`); n != 1 {
				t.Fatalf("%d processes list jobs, want only the busy one", n)
			}
			for _, id := range held {
				link := mountPath + "/job?" + url.Values{"id": {id}, "queue": {xssQueue}}.Encode()
				if !strings.Contains(body, strings.ReplaceAll(link, "&", "&amp;")) {
					t.Errorf("no link to in-flight job %s (%s)", id, link)
				}
			}
			if strings.Contains(body, "<script>alert") {
				t.Errorf("an in-flight job's strings reached the page unescaped")
			}
		})
	}
}

// TestStopProcess: the Stop form marks the process as asked to stop in
// the store, on both backends; an unknown process answers 404 and a
// read-only dashboard shows no Stop button.
func TestStopProcess(t *testing.T) {
	for name, b := range testBackends(t) {
		t.Run(name, func(t *testing.T) {
			holdJobs(t, b, "proc"+xss, "nothing-here", 1)
			ts := mount(t, b, nil)
			_, body := get(t, ts.URL+mountPath+"/processes")
			if !strings.Contains(body, `action="`+mountPath+`/processes/stop"`) {
				t.Fatalf("no Stop form on the processes page:\n%s", body)
			}
			// The page's hidden field percent-encodes the id (enc).
			resp := post(t, ts.URL, mountPath+"/processes/stop", url.Values{"id": {url.QueryEscape("proc" + xss)}})
			if resp.StatusCode != 303 {
				t.Fatalf("POST stop: %d, want 303", resp.StatusCode)
			}
			requested, err := b.(backend.Stopper).StopRequested(context.Background(), "proc"+xss)
			if err != nil || !requested {
				t.Fatalf("StopRequested after the form = %v, %v; want true", requested, err)
			}
			if resp := post(t, ts.URL, mountPath+"/processes/stop", url.Values{"id": {"nobody"}}); resp.StatusCode != 404 {
				t.Fatalf("POST stop of an unknown process: %d, want 404", resp.StatusCode)
			}
			ro := mount(t, b, func(o *web.Options) { o.ReadOnly = true })
			if _, body := get(t, ro.URL+mountPath+"/processes"); strings.Contains(body, "/processes/stop") {
				t.Fatal("a read-only dashboard shows the Stop form")
			}
		})
	}
}
