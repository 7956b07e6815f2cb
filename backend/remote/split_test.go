package remote

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/joblot/joblot/backend"
)

// pack cuts a call's items into runs whose request, encoded as the client
// sends it, fits the owner's limit, covering every item once and in order,
// and refuses an item too large alone.
func TestPackFitsEveryRequest(t *testing.T) {
	const limit = 4 << 10
	c := &Client{maxRequest: limit}
	results := make([]*wireResult, 300)
	for i := range results {
		// Sizes from tiny to a third of the limit, so runs hold 2 to ~100.
		arg, _ := json.Marshal(strings.Repeat("x", (i*37)%(limit/3)))
		results[i] = &wireResult{Fetched: &wireFetched{Job: &backend.Job{ID: backend.NewJobID(), Queue: "q", Args: arg}}, Outcome: backend.OutcomeSucceeded}
	}
	part := func(lo, hi int) completeParams { return completeParams{"proc", results[lo:hi]} }
	empty, _ := json.Marshal(part(0, 0))
	bounds, err := c.pack("Complete", len(results), len(empty), func(i int) any { return results[i] })
	if err != nil {
		t.Fatal(err)
	}
	if bounds[0] != 0 || bounds[len(bounds)-1] != len(results) || len(bounds) < 3 {
		t.Fatalf("bounds %v: want 0 … %d in several runs", bounds, len(results))
	}
	for k := range bounds[:len(bounds)-1] {
		lo, hi := bounds[k], bounds[k+1]
		if hi <= lo {
			t.Fatalf("bounds %v not increasing at %d", bounds, k)
		}
		body, _ := json.Marshal(part(lo, hi))
		if len(body) > limit {
			t.Fatalf("request of items %d..%d is %d bytes, above the %d limit", lo, hi, len(body), limit)
		}
	}

	results[7].Fetched.Job.Args, _ = json.Marshal(strings.Repeat("y", limit))
	if _, err := c.pack("Complete", len(results), len(empty), func(i int) any { return results[i] }); !errors.Is(err, ErrRequestTooLarge) || !strings.Contains(err.Error(), "item 7") {
		t.Fatalf("pack with item 7 above the limit = %v, want ErrRequestTooLarge naming item 7", err)
	}
}
