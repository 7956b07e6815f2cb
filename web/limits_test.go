package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// The limits page shows each limited queue's limit and its groups with the
// jobs holding slots and waiting; group names (limit keys are user data)
// are escaped.
func TestLimitsPage(t *testing.T) {
	for name, b := range testBackends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			q := "limited"
			if _, err := b.SetLimits(ctx, backend.SetLimitsParams{Queue: q, Limit: backend.QueueLimit{Concurrency: 2, By: backend.LimitByKey}}); err != nil {
				t.Fatal(err)
			}
			key := "cust<script>alert(1)</script>"
			jobs := make([]*backend.Job, 5)
			for i := range jobs {
				jobs[i] = &backend.Job{ID: backend.NewJobID(), Kind: "k", Queue: q, Args: []byte(`{}`), CreatedAt: time.Now()}
				jobs[i].SetLimitKey(key)
			}
			if _, err := b.Enqueue(ctx, jobs); err != nil {
				t.Fatal(err)
			}
			if err := b.Heartbeat(ctx, backend.ProcessInfo{ID: "p", Queues: []string{q}}, time.Hour); err != nil {
				t.Fatal(err)
			}
			if _, err := b.Fetch(ctx, backend.FetchParams{Proc: "p", Queues: []string{q}, Max: 5}); err != nil {
				t.Fatal(err)
			}
			ts := mount(t, b, nil)
			code, body := get(t, ts.URL+mountPath+"/limits")
			if code != http.StatusOK {
				t.Fatalf("limits page: %d %s", code, body)
			}
			if strings.Contains(body, "<script>alert") {
				t.Fatal("a limit key reached the page unescaped")
			}
			if !strings.Contains(body, "at most 2 in flight per group") {
				t.Fatalf("the page does not state the limit:\n%s", body)
			}
			row := body[strings.Index(body, `class="limit-group"`):]
			row = row[:strings.Index(row, "</tr>")]
			if !strings.Contains(row, "cust") || !strings.Contains(row, "<td>2</td><td>3</td>") {
				t.Fatalf("group row %q: want the key with 2 running and 3 waiting", row)
			}
		})
	}
}
