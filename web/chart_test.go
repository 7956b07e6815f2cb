package web_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/joblot/joblot/backend"
)

// The overview's chart plots the stores' per-minute counters: one point per
// minute of the last day, and its sums are the attempts the store counted.
func TestChartPerMinute(t *testing.T) {
	for name, b := range testBackends(t) {
		t.Run(name, func(t *testing.T) {
			seed(t, b, []seedSpec{
				{set: backend.SetDead, queue: "chart-a", kind: "k", errMsg: "boom", n: 7},
				{set: backend.SetRetry, queue: "chart-b", kind: "k", errMsg: "later", n: 5},
			})
			ts := mount(t, b, nil)
			code, body := get(t, ts.URL+mountPath+"/chart.json")
			if code != http.StatusOK {
				t.Fatalf("chart.json: %d %s", code, body)
			}
			var c struct {
				Step      string    `json:"step"`
				X         []int64   `json:"x"`
				Processed []float64 `json:"processed"`
				Failed    []float64 `json:"failed"`
			}
			if err := json.Unmarshal([]byte(body), &c); err != nil {
				t.Fatal(err)
			}
			if c.Step != "minute" || len(c.X) != backend.ThroughputMinutes || len(c.Processed) != len(c.X) || len(c.Failed) != len(c.X) {
				t.Fatalf("chart: step %q, %d/%d/%d points; want minute and %d", c.Step, len(c.X), len(c.Processed), len(c.Failed), backend.ThroughputMinutes)
			}
			for k := 1; k < len(c.X); k++ {
				if c.X[k]-c.X[k-1] != 60 {
					t.Fatalf("point %d is %d s after the one before", k, c.X[k]-c.X[k-1])
				}
			}
			var processed, failed float64
			for k := range c.X {
				processed += c.Processed[k]
				failed += c.Failed[k]
			}
			if processed != 12 || failed != 12 {
				t.Fatalf("chart sums: processed %v, failed %v; want 12 and 12 (7 dead + 5 retrying attempts)", processed, failed)
			}
		})
	}
}
