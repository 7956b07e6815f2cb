package web_test

import (
	"strings"
	"testing"
	"time"

	"github.com/joblot/joblot/web"
)

// TestPeriodicPage lists the stored periodic jobs on both backends: name,
// schedule, queue, kind and missed policy escaped, the last recorded
// instant, the next one the schedule gives after the inspector's now, and
// a schedule that does not parse said so instead of a next instant. The
// nav links to the page.
func TestPeriodicPage(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	for name, b := range testBackends(t) {
		t.Run(name, func(t *testing.T) {
			seedFixture(t, b)
			ts := mount(t, b, func(o *web.Options) { o.Inspector.Now = func() time.Time { return now } })
			code, body := get(t, ts.URL+mountPath+"/periodic")
			if code != 200 {
				t.Fatalf("GET /periodic: %d %s", code, body)
			}
			if got := strings.Count(body, `<tr class="periodic">`); got != 2 {
				t.Fatalf("the page lists %d periodic jobs, want 2:\n%s", got, body)
			}
			nightly := body[strings.Index(body, "nightly-report"):]
			nightly = nightly[:strings.Index(nightly, "</tr>")]
			for _, want := range []string{"0 3 * * *", ">report<", "run_once", "2026-11-30 03:00:00", "2026-12-02 03:00:00"} {
				if !strings.Contains(nightly, want) {
					t.Errorf("the nightly row lacks %q: %s", want, nightly)
				}
			}
			if !strings.Contains(body, "no next instant") {
				t.Errorf("the unparsable schedule is not flagged")
			}
			if strings.Contains(body, "<script>alert") {
				t.Errorf("a periodic field reached the page unescaped")
			}
			if !strings.Contains(body, `href="`+mountPath+`/periodic" class="on"`) {
				t.Errorf("the nav does not link to the page, marked current")
			}
		})
	}
}
