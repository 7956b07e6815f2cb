// Package backendtest is the conformance suite every joblot backend must
// pass: the contract behind backend.Backend (docs/data-model.md and
// docs/batch-states.md in the joblot repository explain it). A backend's
// own test — this repository's or a third party's — calls Run with a
// constructor for a fresh, empty store; every test runs as a subtest
// against its own store:
//
//	func TestConformance(t *testing.T) {
//		backendtest.Run(t, func(t *testing.T, opts backendtest.Options) backend.Backend {
//			b := openMyBackend(t, opts.Limits, opts.Now) // closed by t.Cleanup
//			return b
//		})
//	}
//
// A backend must honour Options.Limits (and Options.Now where given); the
// lease tests run on the backend's own clock. Optional interfaces
// (backend.Quieter, backend.Waiter, backend.WaitFetcher, backend.CancelListener,
// backend.OutputStore) are tested when the backend implements them and
// skipped otherwise.
//
// The suite only talks through the Backend interface. It passes explicit
// times to the time-driven operations (MoveDue, RecoverOrphans, TrimDead,
// Stats, ForwardCallbacks) so it does not depend on the wall clock, except for
// leases, whose TTLs are relative to the backend's clock by definition.
package backendtest

import (
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// Options configure the backend a test needs.
type Options struct {
	// Limits are the caps the backend must enforce (zero fields: defaults).
	Limits backend.Limits
	// Now, when set, is the backend's clock (its Options.Now): the tests
	// that need one move it themselves. Nil: the wall clock.
	Now func() time.Time
}

// NewBackendFunc returns a fresh, empty backend for one test, closed by the
// function's own t.Cleanup.
type NewBackendFunc func(t *testing.T, opts Options) backend.Backend

// test is one conformance test.
type test struct {
	name string
	// opts are the options its backend is opened with.
	opts Options
	// clock gives the test's backend a clock of its own (harness.clock),
	// starting at clockStart.
	clock bool
	run   func(h *harness)
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
		{"BatchChildRelease", childReleaseTests()},
		{"BatchPages", pageTests()},
		{"BatchErrors", errorGroupTests()},
		{"BatchVerify", verifyTests()},
		{"ErrorsAcross", acrossTests()},
		{"Wait", waitTests()},
		{"WaitFetch", waitFetchTests()},
		{"Meta", metaTests()},
		{"Snooze", snoozeTests()},
		{"Cancel", cancelTests()},
		{"Unique", uniqueTests()},
		{"Limits", limitTests()},
		{"Periodic", periodicTests()},
		{"Output", outputTests()},
		{"Throughput", throughputTests()},
		{"ScanBudget", scanBudgetTests()},
	}
}

// Run runs every conformance test as subtests; newBackend returns a fresh,
// empty backend (closed by newBackend's own t.Cleanup).
func Run(t *testing.T, newBackend NewBackendFunc) {
	for _, g := range groups() {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					opts := tc.opts
					var clk *testClock
					if tc.clock {
						clk = &testClock{t: clockStart}
						opts.Now = clk.Now
					}
					h := newHarness(t, newBackend(t, opts))
					h.clock = clk
					tc.run(h)
				})
			}
		})
	}
}
