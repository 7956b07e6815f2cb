package joblot

import (
	"testing"

	"github.com/joblot/joblot/backend"
)

// hintingBackend is a backend that asks servers to hold hint jobs at once.
type hintingBackend struct {
	backend.Backend
	hint int
}

func (h hintingBackend) InFlightHint() int { return h.hint }

// TestPrefetchDefaultFollowsInFlightHint: on a group-committing backend the
// default Prefetch is fixed, topping Concurrency up to the backend's hint;
// a Prefetch the user set wins, and a backend without the hint, or a hint
// below what the usual default holds, leave the adaptive default: from
// Concurrency/10 to 8 × Concurrency.
func TestPrefetchDefaultFollowsInFlightHint(t *testing.T) {
	workers := NewWorkers()
	cases := []struct {
		name        string
		b           backend.Backend
		concurrency int
		prefetch    int
		wantFloor   int
		want        int
	}{
		{"hint tops up the default concurrency", hintingBackend{hint: 384}, 0, 0, 384 - DefaultConcurrency, 384 - DefaultConcurrency},
		{"hint tops up a set concurrency", hintingBackend{hint: 384}, 100, 0, 284, 284},
		{"at most 8 per slot", hintingBackend{hint: 384}, 4, 0, 32, 32},
		{"user prefetch wins", hintingBackend{hint: 384}, 0, 7, 7, 7},
		{"hint below the usual default", hintingBackend{hint: 384}, 1000, 0, 100, 8000},
		{"no hint", hintingBackend{}.Backend, 0, 0, DefaultConcurrency / 10, 8 * DefaultConcurrency},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ServerConfig{Workers: workers, Concurrency: tc.concurrency, Prefetch: tc.prefetch}.withBackendDefaults(tc.b).withDefaults()
			if err != nil {
				t.Fatal(err)
			}
			if cfg.prefetchFloor != tc.wantFloor || cfg.Prefetch != tc.want {
				t.Fatalf("prefetch from %d to %d, want %d to %d", cfg.prefetchFloor, cfg.Prefetch, tc.wantFloor, tc.want)
			}
		})
	}
}
