package web_test

import (
	"context"
	"html"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/web"
)

// TestBatchPagingEqualCreatedAt pages the batch list two at a time over
// five batches created in the same instant, on both backends: the Next
// links carry a (CreatedAt, ID) cursor, so every batch shows exactly once.
func TestBatchPagingEqualCreatedAt(t *testing.T) {
	for name, b := range testBackends(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			at := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
			want := map[string]bool{}
			for i := range 5 {
				id := "same-" + strconv.Itoa(i)
				if err := b.CreateBatch(ctx, &backend.BatchSpec{ID: id, CreatedAt: at, CommitDeadline: at.Add(24 * time.Hour)}); err != nil {
					t.Fatal(err)
				}
				want[id] = true
			}
			ts := mount(t, b, func(o *web.Options) { o.PageSize = 2 })
			idRE := regexp.MustCompile(`<a href="[^"]*/batch\?id=([^"]+)">`)
			nextRE := regexp.MustCompile(`<a href="([^"]+)">Older`)
			seen := map[string]bool{}
			next := ts.URL + mountPath + "/batches"
			for pages := 0; next != ""; pages++ {
				if pages > 5 {
					t.Fatal("too many pages")
				}
				_, body := get(t, next)
				for _, m := range idRE.FindAllStringSubmatch(body, -1) {
					if seen[m[1]] {
						t.Fatalf("batch %s on two pages", m[1])
					}
					seen[m[1]] = true
				}
				next = ""
				if m := nextRE.FindStringSubmatch(body); m != nil {
					next = ts.URL + html.UnescapeString(m[1])
				}
			}
			if len(seen) != len(want) {
				t.Fatalf("the pages showed %v, want each of %v once", seen, want)
			}
		})
	}
}
