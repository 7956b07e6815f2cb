package backendtest

import (
	"slices"
	"strings"
	"time"

	"github.com/joblot/joblot/backend"
)

// batchPagingTests cover ListBatches' keyset cursor: batches created in the
// same millisecond are neither skipped nor repeated across pages.
func batchPagingTests() []test {
	return []test{
		{name: "EqualCreatedAtKeyset", run: testListBatchesEqualCreatedAt},
	}
}

// testListBatchesEqualCreatedAt creates batches of which five share one
// millisecond, and pages by (CreatedAt, ID) three at a time across that
// millisecond: every batch comes once, newest first, ties by descending ID.
func testListBatchesEqualCreatedAt(h *harness) {
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	type made struct {
		id string
		at time.Time
	}
	var all []made
	for i, offset := range []time.Duration{0, time.Minute, time.Minute, time.Minute, time.Minute, time.Minute, 2 * time.Minute} {
		spec := h.batchSpec("")
		// IDs in an order unlike their creation, so the tie order is the
		// backend's, not the harness's.
		spec.ID = string(rune('a'+(i*3)%7)) + "-" + spec.ID
		spec.CreatedAt = base.Add(offset)
		h.create(spec)
		all = append(all, made{spec.ID, spec.CreatedAt})
	}
	slices.SortFunc(all, func(a, b made) int {
		if c := b.at.Compare(a.at); c != 0 {
			return c
		}
		return strings.Compare(b.id, a.id)
	})
	var want []string
	for _, m := range all {
		want = append(want, m.id)
	}
	var got []string
	opts := backend.BatchListOptions{Limit: 3}
	for range 10 {
		page, err := h.b.ListBatches(h.ctx, opts)
		if err != nil {
			h.t.Fatalf("ListBatches(%+v): %v", opts, err)
		}
		if len(page) > 3 {
			h.t.Fatalf("ListBatches(Limit 3) returned %d", len(page))
		}
		if len(page) == 0 {
			break
		}
		for _, st := range page {
			got = append(got, st.ID)
		}
		last := page[len(page)-1]
		opts.Before, opts.BeforeID = last.CreatedAt, last.ID
	}
	if !slices.Equal(got, want) {
		h.t.Fatalf("ListBatches paged by (CreatedAt, ID) = %v\nwant newest first, ties by descending ID: %v", got, want)
	}
}
