package bolt

import (
	"context"
	"errors"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"
)

// Group commit. Every write is an op run by one goroutine (commitLoop):
// it takes every op waiting (up to maxOpsPerTx), runs them in one
// read-write transaction and commits it with one fsync, then answers each
// caller. While a commit is being fsync'd, the next ops queue up and share
// the next one, so durability costs one fsync per round, not per call.
//
// An op's function must only write to the transaction and to its own
// result variables, resetting them first: when another op of the round
// fails after writing, the transaction is rolled back and the others are
// run again in a fresh one. An op that fails before writing anything
// returns clean(err), which costs the others nothing.

// maxOpsPerTx bounds one transaction.
const maxOpsPerTx = 512

// errClosed is returned by writes after Close.
var errClosed = errors.New("joblot/bolt: backend is closed")

type op struct {
	fn   func(*txc) error
	done chan error
}

// cleanErr marks an error returned before the op wrote anything.
type cleanErr struct{ err error }

func (e cleanErr) Error() string { return e.err.Error() }
func (e cleanErr) Unwrap() error { return e.err }

// clean wraps err as returned before any write (nil stays nil).
func clean(err error) error {
	if err == nil {
		return nil
	}
	return cleanErr{err}
}

// update runs fn in the next group-committed write transaction and
// returns once that transaction is durable (or failed).
func (b *Backend) update(ctx context.Context, fn func(*txc) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o := &op{fn: fn, done: make(chan error, 1)}
	select {
	case b.ops <- o:
	case <-b.stop:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once submitted, the op may commit: wait for the outcome rather than
	// report a failure for a write that happened. An op that slipped into
	// the channel after Close drained it never runs.
	var err error
	select {
	case err = <-o.done:
	case <-b.stopped:
		select {
		case err = <-o.done:
		default:
			return errClosed
		}
	}
	var ce cleanErr
	if errors.As(err, &ce) {
		return ce.err
	}
	return err
}

// view runs fn in a read-only transaction.
func (b *Backend) view(fn func(tx *bbolt.Tx) error) error {
	return b.db.View(fn)
}

func (b *Backend) commitLoop() {
	defer close(b.stopped)
	round := make([]*op, 0, maxOpsPerTx)
	for {
		select {
		case o := <-b.ops:
			round = append(round[:0], o)
		case <-b.stop:
			// Finish what is queued, then refuse the rest.
			for {
				select {
				case o := <-b.ops:
					b.runRound([]*op{o})
				default:
					return
				}
			}
		}
	more:
		for len(round) < maxOpsPerTx {
			select {
			case o := <-b.ops:
				round = append(round, o)
			default:
				break more
			}
		}
		b.runRound(round)
	}
}

// runRound runs ops in one transaction, re-running the survivors when one
// fails after writing.
func (b *Backend) runRound(ops []*op) {
	start := time.Now()
	for len(ops) > 0 {
		tx, err := b.db.Begin(true)
		if err != nil {
			for _, o := range ops {
				o.done <- wrapErr("begin transaction", err)
			}
			return
		}
		c := newTxc(b, tx)
		var failed, ok []*op
		dirty := false
		for _, o := range ops {
			err := o.fn(c)
			if err == nil {
				ok = append(ok, o)
				continue
			}
			var ce cleanErr
			if !errors.As(err, &ce) {
				dirty = true
			}
			o.done <- err
			failed = append(failed, o)
		}
		if dirty {
			_ = tx.Rollback()
			if len(failed) == len(ops) {
				return
			}
			ops = ok
			continue
		}
		if len(ok) == 0 {
			_ = tx.Rollback()
			return
		}
		if err := c.flush(); err != nil {
			_ = tx.Rollback()
			for _, o := range ok {
				o.done <- wrapErr("flush", err)
			}
			return
		}
		commitStart := time.Now()
		err = wrapErr("commit", tx.Commit())
		if err == nil {
			end := time.Now()
			b.commits.record(len(ok), end.Sub(commitStart), end.Sub(start))
			for _, f := range c.after {
				f()
			}
			if c.pushed() {
				b.bell.ring()
			}
		}
		for _, o := range ok {
			o.done <- err
		}
		return
	}
}

// pushed reports whether the transaction put jobs into a queue.
func (c *txc) pushed() bool {
	for _, q := range c.queues {
		if q.pushed {
			return true
		}
	}
	return false
}

// txc is the state of one write transaction shared by the ops of a round:
// handles and counters of the queues and batches they touch, written back
// once by flush before the commit.
type txc struct {
	b   *Backend
	tx  *bbolt.Tx
	now time.Time

	queues  map[string]*qtx
	batches map[string]*btx // nil value: looked up, does not exist
	days    map[string]*[2]int64
	global  *globalCounts
	errs    *errTx // error buckets touched (errorgroups.go)
	// after runs once the transaction has committed.
	after []func()
}

func newTxc(b *Backend, tx *bbolt.Tx) *txc {
	return &txc{b: b, tx: tx, now: b.now(), queues: map[string]*qtx{}, batches: map[string]*btx{}, days: map[string]*[2]int64{}}
}

// bucket returns a top-level bucket, creating it on first use.
func (c *txc) bucket(name []byte) *bbolt.Bucket {
	if bk := c.tx.Bucket(name); bk != nil {
		return bk
	}
	bk, err := c.tx.CreateBucketIfNotExists(name)
	if err != nil {
		panic(fmt.Sprintf("joblot/bolt: create bucket %s: %v", name, err)) // only fails on a read-only tx or bad name
	}
	return bk
}

// flush writes back the counters and batch state cached by the round's
// ops, and the data-model version record if the store is new.
func (c *txc) flush() error {
	meta := c.bucket(bucketMeta)
	if meta.Get(keyVersion) == nil {
		for _, name := range topBuckets {
			c.bucket(name)
		}
		if err := meta.Put(keyVersion, versionRecord()); err != nil {
			return err
		}
	}
	for _, q := range c.queues {
		if q.dirty {
			if err := q.bk.Put(keyCounts, q.n.marshal()); err != nil {
				return err
			}
			if err := c.countMinute(q); err != nil {
				return err
			}
		}
	}
	if err := c.flushBatches(); err != nil {
		return err
	}
	if err := c.flushErrorGroups(); err != nil {
		return err
	}
	if len(c.days) > 0 {
		days := c.bucket(bucketDays)
		for d, v := range c.days {
			var cur [2]int64
			readDay(days.Get([]byte(d)), &cur)
			cur[0] += v[0]
			cur[1] += v[1]
			if err := days.Put([]byte(d), marshalDay(cur)); err != nil {
				return err
			}
		}
	}
	if c.global != nil {
		if err := meta.Put(keyStats, c.global.marshal()); err != nil {
			return err
		}
	}
	return nil
}

// globals returns the store-wide counters, loaded once per transaction.
func (c *txc) globals() *globalCounts {
	if c.global == nil {
		c.global = new(globalCounts)
		c.global.unmarshal(c.bucket(bucketMeta).Get(keyStats))
	}
	return c.global
}

// countDay adds to today's (UTC) counters.
func (c *txc) countDay(processed, failed int64) {
	if processed == 0 && failed == 0 {
		return
	}
	d := c.now.UTC().Format(time.DateOnly)
	v := c.days[d]
	if v == nil {
		v = new([2]int64)
		c.days[d] = v
	}
	v[0] += processed
	v[1] += failed
}
