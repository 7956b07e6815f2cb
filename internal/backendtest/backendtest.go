// Package backendtest is the conformance suite every joblot backend must
// pass: the contract behind backend.Backend (docs/ explains it). A backend's own
// test calls Run with a constructor for a fresh, empty store; every test runs
// as a subtest against its own store.
//
// The suite only talks through the Backend interface. It passes explicit
// times to the time-driven operations (MoveDue, RecoverOrphans, TrimDead,
// Stats, ForwardCallbacks) so it does not depend on the wall clock, except for
// leases, whose TTLs are relative to the backend's clock by definition.
package backendtest

import (
	"testing"

	"github.com/joblot/joblot/backend"
)

// Options configure the backend a test needs.
type Options struct {
	// Limits are the caps the backend must enforce (zero fields: defaults).
	Limits backend.Limits
}

// NewBackendFunc returns a fresh, empty backend for one test, closed by the
// function's own t.Cleanup.
type NewBackendFunc func(t *testing.T, opts Options) backend.Backend

// test is one conformance test.
type test struct {
	name string
	// opts are the options its backend is opened with.
	opts Options
	run  func(h *harness)
}

// group is a set of tests on one concept.
type group struct {
	name  string
	tests []test
}

// groups lists the suite, one group per file.
func groups() []group {
	return []group{
		{"Queue", queueTests()},
		{"Codec", codecTests()},
		{"Rules", ruleTests()},
		{"Schedule", scheduleTests()},
		{"Complete", completeTests()},
		{"Dead", deadTests()},
		{"Recovery", recoveryTests()},
		{"Lease", leaseTests()},
		{"Quiet", quietTests()},
		{"ProcessJobs", processJobsTests()},
		{"Stop", stopTests()},
		{"Stats", statsTests()},
		{"ListJobs", listJobsTests()},
		{"Admin", adminTests()},
		{"QueueAdmin", queueAdminTests()},
		{"Concurrency", concurrencyTests()},
		{"Batch", batchTests()},
		{"BatchPaging", batchPagingTests()},
		{"BatchTransition", transitionTests()},
		{"BatchCallbacks", callbackTests()},
		{"BatchChildren", childTests()},
		{"BatchSettled", settledTests()},
		{"BatchErrors", errorGroupTests()},
		{"ErrorsAcross", acrossTests()},
		{"Wait", waitTests()},
		{"Meta", metaTests()},
		{"Snooze", snoozeTests()},
		{"Cancel", cancelTests()},
		{"Unique", uniqueTests()},
		{"Periodic", periodicTests()},
		{"Output", outputTests()},
	}
}

// Run runs every conformance test as subtests; newBackend returns a fresh,
// empty backend (closed by newBackend's own t.Cleanup).
func Run(t *testing.T, newBackend func(t *testing.T, opts Options) backend.Backend) {
	for _, g := range groups() {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					b := newBackend(t, tc.opts)
					tc.run(newHarness(t, b))
				})
			}
		})
	}
}
