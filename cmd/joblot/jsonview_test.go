package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// The views print a time in UTC whatever its zone, leave an unset time
// out (no year 1), and a duration in milliseconds.
func TestJSONViewTimesAndDurations(t *testing.T) {
	paris := time.FixedZone("CET", 3600)
	st := &backend.BatchStatus{ID: "b", State: backend.BatchRunning, CreatedAt: time.Date(2030, 1, 2, 4, 4, 5, 500_000_000, paris)}
	var out bytes.Buffer
	if err := writeJSON(&out, viewBatch(st)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), `"created_at": "2030-01-02T03:04:05.5Z"`) {
		t.Errorf("created_at is not the UTC time:\n%s", out.String())
	}
	for _, absent := range []string{"0001-01-01", "committed_at", "null"} {
		if strings.Contains(out.String(), absent) {
			t.Errorf("output holds %q:\n%s", absent, out.String())
		}
	}
	q := viewQueues([]backend.QueueStats{{Name: "q", Latency: 1500 * time.Microsecond}})
	if q[0].LatencyMs != 1.5 {
		t.Errorf("latency 1.5ms prints as %v", q[0].LatencyMs)
	}
}
