package joblot

import "time"

// fetchLinger caps how long a fetcher facing a backlog waits for more free
// slots before fetching fewer than a quarter of its capacity.
const fetchLinger = time.Millisecond

// lingerPolicy decides, before each fetch of a loop, whether to wait for
// more free slots first, and for how long.
//
// Under load slots free up one by one, and a fetch per freed slot spends
// Redis's time on a script call's fixed cost. So a loop whose last fetch
// came back full (the queue has more) waits for a chunk of at least min
// slots. It waits no longer than its last fetch took: when slots come back
// that slowly, the store has time to spare for a second fetch, and the jobs
// already claimable would only be held back (at 10,000 jobs/s a fixed
// millisecond's wait was most of the 99th percentile's excess over the
// median). At high rates the missing slots come back well within a round
// trip, and chunks stay as big as before.
type lingerPolicy struct {
	min     int           // the smallest chunk worth a fetch under backlog
	backlog bool          // the last fetch came back full
	trip    time.Duration // how long the last fetch took
}

// wait returns how long to wait for more free slots before fetching with
// the n in hand; 0: fetch now.
func (p *lingerPolicy) wait(n int) time.Duration {
	if !p.backlog || n >= p.min {
		return 0
	}
	return min(fetchLinger, p.trip)
}

// fetched records a fetch that asked for asked jobs, claimed got and took
// trip.
func (p *lingerPolicy) fetched(asked, got int, trip time.Duration) {
	p.backlog = got == asked
	p.trip = trip
}

// idle records a fetch that failed or found nothing: no backlog.
func (p *lingerPolicy) idle() { p.backlog = false }
