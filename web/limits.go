package web

import (
	"net/http"

	"github.com/joblot/joblot/backend"
)

// limitRow is one limited queue on the limits page.
type limitRow struct {
	Queue string
	backend.LimitStats
}

// limits is the global limits page: each limited queue's concurrency and
// rate limits, and its groups with the jobs holding slots and waiting.
// Group names are job data (kinds, limit keys): the template escapes them.
func (h *handler) limits(w http.ResponseWriter, r *http.Request) {
	st, err := h.in.Stats(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var rows []limitRow
	for _, q := range st.Queues {
		if q.Limit != nil && !q.Limit.Limit.IsZero() {
			rows = append(rows, limitRow{Queue: q.Name, LimitStats: *q.Limit})
		}
	}
	h.render(w, r, "limits", "Limits", rows)
}
