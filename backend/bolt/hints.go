package bolt

import (
	"context"
	"time"

	"github.com/joblot/joblot/backend"
)

// InFlightTarget is the least InFlightHint the Backend gives: how many
// jobs a server on the embedded store should hold at once (running plus
// prefetched) when its commits are cheap.
//
// Every claim and every ack waits for a group commit (commit.go), which
// costs two fsyncs (bbolt syncs the data pages, then the meta page). In a
// steady state a slot spends about three commits between its fetch being
// queued and its job's ack being durable (its fetch waits behind the
// commit under way and then for its own; the next fetch queues
// meanwhile), so about a third of the jobs held ride on each commit:
// jobs/s ≈ held / (3 × commit time). At 384 that is ~128 jobs a commit,
// enough for TargetJobsPerSec while a commit takes at most ~1.3 ms; on a
// slower disk InFlightHint sizes the commits to the measured commit time
// (inFlightFor). With the default Concurrency (50) the server prefetches
// the other 334 (its default would be 5).
const InFlightTarget = 384

// TargetJobsPerSec is the throughput InFlightHint sizes the group commits
// for: held jobs = TargetJobsPerSec × commitsPerCycle × commit time.
const TargetJobsPerSec = 100_000

// MaxInFlightHint caps InFlightHint however slow the commits: a server
// holds that many claimed jobs that no other process can run meanwhile.
// (The server also caps its Prefetch at a multiple of Concurrency.)
const MaxInFlightHint = 2048

// commitsPerCycle is the commits a held job waits for, from its fetch to
// its durable ack (see InFlightTarget).
const commitsPerCycle = 3

// minCommitSamples is how many commits InFlightHint wants measured; a
// Backend that made fewer makes empty probe commits first.
const minCommitSamples = 3

var _ backend.InFlightHinter = (*Backend)(nil)

// InFlightHint implements backend.InFlightHinter: enough jobs held that
// each commit carries its share of TargetJobsPerSec at the commit time
// measured on this file's disk (the median of the recent commits), at
// least InFlightTarget and at most MaxInFlightHint. A Backend that has
// committed too little to tell first times a few empty commits; those
// cost the two fsyncs without the page writes of a loaded commit, so the
// hint is then on the low side.
func (b *Backend) InFlightHint() int {
	cost, n := b.commits.recentCost()
	for ; n < minCommitSamples; n++ {
		if err := b.update(context.Background(), func(*txc) error { return nil }); err != nil {
			break // closed or failing: hint from what was measured
		}
		cost, _ = b.commits.recentCost()
	}
	return inFlightFor(cost)
}

// inFlightFor is the jobs to hold so that commits taking commit each
// reach TargetJobsPerSec, within [InFlightTarget, MaxInFlightHint].
func inFlightFor(commit time.Duration) int {
	if commit >= time.Second {
		return MaxInFlightHint // and no overflow below
	}
	per := int64(TargetJobsPerSec * commitsPerCycle)
	want := (per*int64(commit) + int64(time.Second) - 1) / int64(time.Second)
	return int(min(MaxInFlightHint, max(InFlightTarget, want)))
}
