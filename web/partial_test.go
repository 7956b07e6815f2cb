package web_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/web"
)

// A sparse filter over many jobs reads at most the count budget per page:
// the page says what it found is partial ("≥ N") and links to the next
// stretch, and following the links finds every match.
func TestSparseFilterPagesWithinBudget(t *testing.T) {
	for name, b := range testBackends(t) {
		t.Run(name, func(t *testing.T) {
			seed(t, b, []seedSpec{
				{set: backend.SetDead, queue: "sparse", kind: "rare", errMsg: "x", n: 2},
				{set: backend.SetDead, queue: "sparse", kind: "common", errMsg: "x", n: 60},
			})
			ts := mount(t, b, func(o *web.Options) { o.CountBudget = 20; o.PageSize = 5 })
			u := ts.URL + mountPath + "/jobs/dead?queue=sparse&kind=rare"
			found, partial := 0, 0
			for range 20 {
				code, body := get(t, u)
				if code != http.StatusOK {
					t.Fatalf("%s: %d", u, code)
				}
				found += strings.Count(body, `<tr class="job" `)
				if strings.Contains(body, `id="partial"`) {
					partial++
					if !strings.Contains(body, "examining 20 stored jobs") {
						t.Fatalf("a partial page does not state its budget")
					}
				}
				i := strings.Index(body, `id="next"`)
				if i < 0 {
					break
				}
				href := body[strings.LastIndex(body[:i], `href="`)+len(`href="`):]
				u = ts.URL + strings.ReplaceAll(href[:strings.IndexByte(href, '"')], "&amp;", "&")
			}
			if found != 2 || partial == 0 {
				t.Fatalf("followed the pages: %d rare jobs found (want 2), %d partial pages (want some)", found, partial)
			}
		})
	}
}
