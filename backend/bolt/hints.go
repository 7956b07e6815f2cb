package bolt

import "github.com/joblot/joblot/backend"

// InFlightTarget is the Backend's InFlightHint: how many jobs a server on
// the embedded store should hold at once (running plus prefetched).
//
// Every claim and every ack waits for a group commit (commit.go), which
// costs two fsyncs (bbolt syncs the data pages, then the meta page). In a
// steady state a slot spends about three commits between its fetch being
// queued and its job's ack being durable (its fetch waits behind the
// commit under way and then for its own; the next fetch queues
// meanwhile), so about a third of the jobs held ride on each commit. At
// 384 that is ~128 jobs a commit: 100,000 jobs/s as long as a commit
// takes at most ~1.3 ms, which a disk whose 4 KiB write+fsync takes
// ~300 µs allows; on a faster disk the commits come sooner and carry
// fewer jobs, at the same CPU cost a job. With the default Concurrency
// (50) the server prefetches the other 334 (its default would be 5).
const InFlightTarget = 384

var _ backend.InFlightHinter = (*Backend)(nil)

// InFlightHint implements backend.InFlightHinter.
func (b *Backend) InFlightHint() int { return InFlightTarget }
