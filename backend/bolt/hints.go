package bolt

import (
	"context"
	"time"

	"github.com/joblot/joblot/backend"
)

// InFlightTarget is the least InFlightHint the Backend gives: how many
// jobs a server on the embedded store may hold at once (running plus
// prefetched) when its commits are cheap. A server's prefetch follows its
// completion rate up to the hint (ServerConfig.Prefetch), so slow jobs are
// not hoarded; the hint bounds how far fast ones go.
//
// Every claim and every ack waits for a group commit (commit.go), which
// costs two fsyncs (bbolt syncs the data pages, then the meta page). In a
// steady state a slot spends about three commits between its fetch being
// queued and its job's ack being durable (its fetch waits behind the
// commit under way and then for its own; the next fetch queues
// meanwhile), so about a third of the jobs held ride on each commit, and
// the more they are the less each pays of the fsyncs. Measured with
// no-op jobs (`cd bench/river && go run . --only joblot`): holding 450,
// commits of ~150 jobs and 83–93k jobs/s while a commit took ~1.3 ms;
// holding 1,550 (~490 jobs a commit, AckChunk's 500 the cap), 115–117k
// jobs/s on the same disk; on a faster one (commits of 0.8 ms) both about
// 118k.
const InFlightTarget = 2048

// TargetJobsPerSec is the throughput InFlightHint sizes the group commits
// for: held jobs = TargetJobsPerSec × commitsPerCycle × commit time.
const TargetJobsPerSec = 100_000

// MaxInFlightHint caps InFlightHint however slow the commits: a server
// with fast jobs holds that many claimed jobs that no other process can
// run meanwhile.
const MaxInFlightHint = 4096

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
