package bolt

import (
	"encoding/binary"
	"time"

	"github.com/joblot/joblot/backend"
)

// File layout. Every name below is part of the stored format
// (backend.DataModelVersion); never rename or reuse one.
//
// Top-level buckets:
//
//	meta      version -> uvarint data-model version (written with the
//	          first write); stats -> global counters (expired batch events)
//	queues    one nested bucket per queue name (see below)
//	days      "YYYY-MM-DD" -> processed, failed of that UTC day (all
//	          queues), pruned after Limits.StatsDays
//	mins      one nested bucket per queue name: <unix minute, big-endian
//	          uint64> -> processed, failed of that minute (varints); a
//	          write drops the minutes backend.ThroughputWindow before its
//	          own, so at most backend.ThroughputMinutes per queue, and the
//	          janitor (ForwardCallbacks) an idle queue's. Added
//	          without a version bump, like errs.
//	once      i<id> -> expiry; e<expiry><id> -> nil: dedupe of
//	          deterministic job ids (callbacks) for onceTTL
//	batches   one nested bucket per batch id (see batchstore.go)
//	bidx      <created ms><id> -> nil: batches by creation, newest last
//	bexp      <expiry ms><id> -> nil: a lower bound of each batch's expiry,
//	          swept by the janitor (ForwardCallbacks)
//	bdl       <deadline ms><id> -> nil: uncommitted batches by commit deadline
//	errs      error groups of each queue per UTC hour (see errorgroups.go),
//	          pruned by the janitor (ForwardCallbacks) once
//	          Limits.ErrorGroupRetention has passed after the hour. Added
//	          after data model 1 without a version bump: it is a new bucket
//	          only, which older code neither reads nor minds, and a store
//	          without it reads as having no error groups yet.
//	periodic  periodic jobs: d<name> -> definition (JSON
//	          backend.PeriodicDef) as the leading server last wrote them;
//	          l<uvarint len(queue)><queue><name> -> its last instant
//	          (unix ms, big-endian), written only when later, with the job
//	          it enqueues. Added after data model 2 without a version bump,
//	          as errs was: a new bucket only, created by its first write.
//	out       job output and progress records (see output.go), swept by
//	          the janitor (ForwardCallbacks) after Limits.OutputTTL. A new
//	          bucket only, like errs.
//
// Per queue (nested bucket queues/<name>):
//
//	n   counters (qcounts): sizes, in flight, dead bytes, processed, ...
//	p   present while the queue is paused
//	j   bucket: queued jobs, <seq> -> <enqueued ms><payload>. seq is a
//	    big-endian uint64 so the head of the queue is Cursor.First(): the
//	    tail takes 2^63 + NextSequence(), a requeued or recovered job takes
//	    First()-1, so it runs next.
//	s   bucket: scheduled jobs, <due ms><seq> -> payload
//	r   bucket: retrying jobs, <due ms><seq> -> payload
//	d   bucket: dead jobs, <died ms><seq> -> payload (oldest first)
//	w   bucket: in-flight jobs, <proc>\x00<job id> -> payload
//	c   bucket, present while not empty: ids of jobs cancelled while
//	    queued (CancelJob), <job id> -> nil; Fetch drops them, and
//	    deletes the bucket when it empties the queue
//	u   bucket, created by the first unique job: unique locks, <lock key>
//	    -> <expiry ms, 0 for none><job id> of the job holding it
//	    (backend.Job.Unique)
//	l, lh, lr, lw, lt  the queue's global limit and its state, created by
//	    the first SetLimits (see limits.go)
//
// Processes and leases are not stored: the file is owned by one process,
// so they live in memory, and Open recovers every in-flight job a previous
// run left behind.
var (
	bucketMeta    = []byte("meta")
	bucketQueues  = []byte("queues")
	bucketDays    = []byte("days")
	bucketOnce    = []byte("once")
	bucketBatches = []byte("batches")
	bucketBIdx    = []byte("bidx")
	bucketBExp    = []byte("bexp")
	bucketBDl     = []byte("bdl")
	bucketErrs    = []byte("errs")
	bucketPeriod  = []byte("periodic")
	bucketMins    = []byte("mins")

	keyVersion = []byte("version")
	keyStats   = []byte("stats")

	keyCounts = []byte("n")
	keyPaused = []byte("p")
	subJobs   = []byte("j")
	subSched  = []byte("s")
	subRetry  = []byte("r")
	subDead   = []byte("d")
	subWip    = []byte("w")
	subCancel = []byte("c")
	subUniq   = []byte("u")
)

// topBuckets are created by the first write transaction.
var topBuckets = [][]byte{bucketMeta, bucketQueues, bucketDays, bucketOnce, bucketBatches, bucketBIdx, bucketBExp, bucketBDl, bucketErrs}

// headBase is the sequence of an empty queue's first job: tail keys grow up
// from it, head keys down.
const headBase = uint64(1) << 63

// onceTTL is how long a deterministic job id is remembered.
const onceTTL = 7 * 24 * time.Hour

// ms returns t as unsigned unix milliseconds (times before 1970 clamp to 0).
func ms(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	v := t.UnixMilli()
	if v < 0 {
		return 0
	}
	return uint64(v)
}

func be64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

// timeKey is <t ms><seq>: sorted by time, unique by seq.
func timeKey(t time.Time, seq uint64) []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b, ms(t))
	binary.BigEndian.PutUint64(b[8:], seq)
	return b
}

// keyTime returns the time of a timeKey (or of any key starting with one).
func keyTime(k []byte) time.Time {
	if len(k) < 8 {
		return time.Time{}
	}
	return time.UnixMilli(int64(binary.BigEndian.Uint64(k)))
}

// idKey is <t ms><id>, for the batch indexes.
func idKey(t time.Time, id string) []byte {
	b := make([]byte, 8, 8+len(id))
	binary.BigEndian.PutUint64(b, ms(t))
	return append(b, id...)
}

// wipKey is <proc>\x00<job id>.
func wipKey(proc, id string) []byte {
	b := make([]byte, 0, len(proc)+1+len(id))
	b = append(b, proc...)
	b = append(b, 0)
	return append(b, id...)
}

// splitWipKey returns the process of a wipKey.
func wipProc(k []byte) string {
	for i, c := range k {
		if c == 0 {
			return string(k[:i])
		}
	}
	return string(k)
}

// clone copies a slice read from the file: bbolt's slices are only valid
// during their transaction and must not be written back (a remap during
// commit would invalidate them).
func clone(b []byte) []byte { return append([]byte(nil), b...) }

// qcounts are a queue's counters, stored under its key "n".
type qcounts struct {
	Size, Sched, Retry, Dead, DeadBytes, InFlight int64
	Processed, Failed, Discarded, DeadDropped     int64
	Cancelled                                     int64
}

func (n *qcounts) fields() []*int64 {
	return []*int64{&n.Size, &n.Sched, &n.Retry, &n.Dead, &n.DeadBytes, &n.InFlight, &n.Processed, &n.Failed, &n.Discarded, &n.DeadDropped, &n.Cancelled}
}

func (n *qcounts) marshal() []byte {
	var b []byte
	for _, f := range n.fields() {
		b = binary.AppendVarint(b, *f)
	}
	return b
}

// unmarshal reads counters; fields a newer writer appended are ignored,
// missing ones stay zero.
func (n *qcounts) unmarshal(b []byte) {
	*n = qcounts{}
	for _, f := range n.fields() {
		v, k := binary.Varint(b)
		if k <= 0 {
			return
		}
		*f, b = v, b[k:]
	}
}

// globalCounts are the store-wide counters under meta/stats.
type globalCounts struct {
	ExpiredBatchEvents int64
}

func (g *globalCounts) marshal() []byte { return binary.AppendVarint(nil, g.ExpiredBatchEvents) }

func (g *globalCounts) unmarshal(b []byte) {
	*g = globalCounts{}
	if v, k := binary.Varint(b); k > 0 {
		g.ExpiredBatchEvents = v
	}
}

// wipID is the in-flight key's job id of a payload: the id read from the
// payload's first field (codec version 1, field 1, bytes), or
// backend.MalformedJobID. Fetch and Complete both derive it from Raw, so
// an ack finds what the fetch wrote whatever the payload holds.
func wipID(p []byte) string {
	if len(p) >= 3 && p[0] == 1 && p[1] == 3 {
		l, n := binary.Uvarint(p[2:])
		if n > 0 && l > 0 && uint64(len(p)-2-n) >= l {
			return string(p[2+n : 2+n+int(l)])
		}
	}
	return backend.MalformedJobID(p)
}
