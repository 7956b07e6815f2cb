package bolt

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/joblot/joblot/backend"
)

// Job output and progress (backend.OutputStore), in the top-level bucket
// "out" (layout.go):
//
//	d<member>            -> <expiry ms, 8 bytes><record> (member is
//	                        backend.OutputMember, record
//	                        backend.EncodeOutput)
//	e<expiry ms><member> -> nil: the expiry index the janitor sweeps
//	m                    -> bytes, dropped, records (3 x 8 bytes
//	                        big-endian): #member + #record summed over the
//	                        records, the writes the byte cap refused, and
//	                        how many records there are (Stats reads them in
//	                        O(1))
//
// The same accounting as the Redis backend's, so the byte cap means the
// same on both.

var (
	bucketOut  = []byte("out")
	keyOutMeta = []byte("m")
)

var _ backend.OutputStore = (*Backend)(nil)

// outCounts are the bucket's counters, stored under "m".
type outCounts struct{ bytes, dropped, records int64 }

func readOutCounts(bk *bbolt.Bucket) outCounts {
	var c outCounts
	if v := bk.Get(keyOutMeta); len(v) == 24 {
		c.bytes = int64(binary.BigEndian.Uint64(v))
		c.dropped = int64(binary.BigEndian.Uint64(v[8:]))
		c.records = int64(binary.BigEndian.Uint64(v[16:]))
	}
	return c
}

func (c outCounts) write(bk *bbolt.Bucket) error {
	v := make([]byte, 24)
	binary.BigEndian.PutUint64(v, uint64(c.bytes))
	binary.BigEndian.PutUint64(v[8:], uint64(c.dropped))
	binary.BigEndian.PutUint64(v[16:], uint64(c.records))
	return bk.Put(keyOutMeta, v)
}

func outDataKey(member string) []byte { return append([]byte{'d'}, member...) }

func outExpKey(expiry []byte, member string) []byte {
	return append(append([]byte{'e'}, expiry...), member...)
}

// remove removes member's record, if any, and counts it out.
func (c *outCounts) remove(bk *bbolt.Bucket, member string) error {
	dk := outDataKey(member)
	v := bk.Get(dk)
	if len(v) < 8 {
		return nil
	}
	c.bytes -= int64(len(member) + len(v) - 8)
	c.records--
	if err := bk.Delete(outExpKey(v[:8], member)); err != nil {
		return err
	}
	return bk.Delete(dk)
}

// sweep removes up to limit records expired at now; it returns how many.
func (c *outCounts) sweep(bk *bbolt.Bucket, now time.Time, limit int) (int, error) {
	var members []string
	cur := bk.Cursor()
	for k, _ := cur.Seek([]byte{'e'}); len(k) >= 9 && k[0] == 'e' && len(members) < limit && !keyTime(k[1:]).After(now); k, _ = cur.Next() {
		members = append(members, string(k[9:]))
	}
	for _, m := range members {
		if err := c.remove(bk, m); err != nil {
			return 0, err
		}
	}
	return len(members), nil
}

// putOutput stores record o within the byte cap, as output_put.lua does
// on Redis: it expires at now + Limits.OutputTTL and sweeps a few
// records expired at now first, never replaces a final record with
// progress, and on a refusal counts a drop and removes the job's previous
// record. It reports whether o was stored.
func (c *txc) putOutput(o *backend.JobOutput, now time.Time) (bool, error) {
	v, err := backend.EncodeOutput(o)
	if err != nil {
		return false, err
	}
	bk := c.bucket(bucketOut)
	n := readOutCounts(bk)
	if _, err := n.sweep(bk, now, backend.OutputSweep); err != nil {
		return false, err
	}
	member := backend.OutputMember(o.Queue, o.ID)
	old := bk.Get(outDataKey(member))
	if len(old) > 8 && v[0] == 'P' && old[8] == 'S' {
		return false, n.write(bk)
	}
	var oldSize int64
	if len(old) >= 8 {
		oldSize = int64(len(member) + len(old) - 8)
	}
	size := int64(len(member) + len(v))
	stored := n.bytes-oldSize+size <= c.b.limits.OutputMaxBytes
	if err := n.remove(bk, member); err != nil {
		return false, err
	}
	if !stored {
		n.dropped++
		return false, n.write(bk)
	}
	expiry := make([]byte, 8)
	binary.BigEndian.PutUint64(expiry, ms(now.Add(c.b.limits.OutputTTL)))
	if err := bk.Put(outDataKey(member), append(expiry, v...)); err != nil {
		return false, err
	}
	if err := bk.Put(outExpKey(expiry, member), nil); err != nil {
		return false, err
	}
	n.bytes += size
	n.records++
	return true, n.write(bk)
}

// recordOutput applies a result's output record: stored with a success,
// the progress of any other outcome removed (a final record stays).
func (c *txc) recordOutput(r backend.Result) error {
	o := r.Output
	if r.Outcome == backend.OutcomeSucceeded {
		if o.Validate() != nil {
			return nil
		}
		_, err := c.putOutput(o, c.now)
		return err
	}
	bk := c.tx.Bucket(bucketOut)
	if bk == nil {
		return nil
	}
	member := backend.OutputMember(o.Queue, o.ID)
	if old := bk.Get(outDataKey(member)); len(old) <= 8 || old[8] == 'S' {
		return nil
	}
	n := readOutCounts(bk)
	if err := n.remove(bk, member); err != nil {
		return err
	}
	return n.write(bk)
}

// expireOutputs removes the records whose lifetime ended (the janitor).
func (c *txc) expireOutputs(now time.Time) error {
	bk := c.tx.Bucket(bucketOut)
	if bk == nil {
		return nil
	}
	n := readOutCounts(bk)
	if k, err := n.sweep(bk, now, janitorChunk); err != nil || k == 0 {
		return err
	}
	return n.write(bk)
}

// outputsDue reports whether a record's lifetime has ended.
func outputsDue(tx *bbolt.Tx, now time.Time) bool {
	bk := tx.Bucket(bucketOut)
	if bk == nil {
		return false
	}
	k, _ := bk.Cursor().Seek([]byte{'e'})
	return len(k) >= 9 && k[0] == 'e' && !keyTime(k[1:]).After(now)
}

// SetProgress implements backend.OutputStore.
func (b *Backend) SetProgress(ctx context.Context, p backend.SetProgressParams) (backend.SetProgressResult, error) {
	o := &backend.JobOutput{Queue: p.Queue, ID: p.ID, Progress: p.Progress, Note: p.Note, HasProgress: true, UpdatedAt: p.Now}
	if err := o.Validate(); err != nil {
		return backend.SetProgressResult{}, err
	}
	var stored bool
	err := b.update(ctx, func(c *txc) error {
		var err error
		stored, err = c.putOutput(o, p.Now)
		return err
	})
	return backend.SetProgressResult{Stored: stored}, wrapErr("set progress", err)
}

// JobOutput implements backend.OutputStore.
func (b *Backend) JobOutput(ctx context.Context, queue, id string) (*backend.JobOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var v []byte
	err := b.view(func(tx *bbolt.Tx) error {
		if bk := tx.Bucket(bucketOut); bk != nil {
			v = clone(bk.Get(outDataKey(backend.OutputMember(queue, id))))
		}
		return nil
	})
	if err != nil {
		return nil, wrapErr("job output", err)
	}
	if len(v) <= 8 || !keyTime(v).After(b.now()) { // expired, not yet swept
		return nil, fmt.Errorf("job %s of queue %s: %w", id, queue, backend.ErrNoOutput)
	}
	return backend.DecodeOutput(v[8:])
}

// outputStats reads the output counters into s.
func outputStats(tx *bbolt.Tx, s *backend.Stats) {
	bk := tx.Bucket(bucketOut)
	if bk == nil {
		return
	}
	n := readOutCounts(bk)
	s.OutputBytes, s.OutputDropped, s.OutputRecords = n.bytes, n.dropped, n.records
}
