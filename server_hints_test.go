package joblot

import (
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// hintingBackend is a backend that asks servers to hold hint jobs at once.
type hintingBackend struct {
	backend.Backend
	hint int
}

func (h hintingBackend) InFlightHint() int { return h.hint }

// TestPrefetchDefaultFollowsInFlightHint: on a group-committing backend the
// default prefetch follows the completion rate over hintedPrefetchWindow,
// from Concurrency/10 up to what tops Concurrency up to the backend's hint,
// and FetchChunk defaults to the share of the hint one commit carries; a
// Prefetch or FetchChunk the user set wins, and a backend without the hint
// leaves the usual defaults: from Concurrency/10 to 8 × Concurrency over
// prefetchWindow, DefaultFetchChunk.
func TestPrefetchDefaultFollowsInFlightHint(t *testing.T) {
	workers := NewWorkers()
	cases := []struct {
		name        string
		b           backend.Backend
		concurrency int
		prefetch    int
		fetchChunk  int
		wantFloor   int
		want        int
		wantWindow  time.Duration
		wantChunk   int
	}{
		{"hint tops up the default concurrency", hintingBackend{hint: 2048}, 0, 0, 0, DefaultConcurrency / 10, 2048 - DefaultConcurrency, hintedPrefetchWindow, 682},
		{"hint tops up a set concurrency", hintingBackend{hint: 2048}, 100, 0, 0, 10, 1948, hintedPrefetchWindow, 682},
		{"few slots follow the rate too", hintingBackend{hint: 2048}, 4, 0, 0, 1, 2044, hintedPrefetchWindow, 682},
		{"user prefetch wins", hintingBackend{hint: 2048}, 0, 7, 0, 7, 7, prefetchWindow, 682},
		{"user fetch chunk wins", hintingBackend{hint: 2048}, 0, 0, 50, DefaultConcurrency / 10, 2048 - DefaultConcurrency, hintedPrefetchWindow, 50},
		{"a small hint keeps the default fetch chunk", hintingBackend{hint: 384}, 0, 0, 0, DefaultConcurrency / 10, 384 - DefaultConcurrency, hintedPrefetchWindow, DefaultFetchChunk},
		{"hint below the concurrency", hintingBackend{hint: 384}, 1000, 0, 0, 100, 100, hintedPrefetchWindow, DefaultFetchChunk},
		{"no hint", hintingBackend{}.Backend, 0, 0, 0, DefaultConcurrency / 10, 8 * DefaultConcurrency, prefetchWindow, DefaultFetchChunk},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ServerConfig{Workers: workers, Concurrency: tc.concurrency, Prefetch: tc.prefetch, FetchChunk: tc.fetchChunk}.withBackendDefaults(tc.b).withDefaults()
			if err != nil {
				t.Fatal(err)
			}
			if cfg.prefetchFloor != tc.wantFloor || cfg.Prefetch != tc.want || cfg.prefetchWindow != tc.wantWindow {
				t.Fatalf("prefetch from %d to %d over %v, want %d to %d over %v", cfg.prefetchFloor, cfg.Prefetch, cfg.prefetchWindow, tc.wantFloor, tc.want, tc.wantWindow)
			}
			if cfg.FetchChunk != tc.wantChunk {
				t.Fatalf("FetchChunk %d, want %d", cfg.FetchChunk, tc.wantChunk)
			}
		})
	}
}
