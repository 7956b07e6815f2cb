package bolt

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sort"

	bbolt "go.etcd.io/bbolt"

	"github.com/joblot/joblot/backend"
)

// periodicLastKey is where the last instant of periodic job name of queue
// is kept: l<uvarint len(queue)><queue><name>, so that no two (queue,
// name) pairs share a key whatever bytes they hold.
func periodicLastKey(queue, name string) []byte {
	k := make([]byte, 0, 1+binary.MaxVarintLen64+len(queue)+len(name))
	k = append(k, 'l')
	k = binary.AppendUvarint(k, uint64(len(queue)))
	k = append(k, queue...)
	return append(k, name...)
}

// FirePeriodic implements backend.Backend: one write transaction compares
// the instant with the stored one and, only if it is later, stores it and
// pushes the job.
func (b *Backend) FirePeriodic(ctx context.Context, p backend.FirePeriodicParams) (backend.FirePeriodicResult, error) {
	var res backend.FirePeriodicResult
	if p.Name == "" || p.Queue == "" {
		return res, fmt.Errorf("joblot/bolt: fire periodic: name %q and queue %q must not be empty", p.Name, p.Queue)
	}
	if p.Job != nil && (p.Job.Queue != p.Queue || p.Job.ID == "") {
		return res, fmt.Errorf("joblot/bolt: fire periodic %q: job %q of queue %q, want an ID and queue %q", p.Name, p.Job.ID, p.Job.Queue, p.Queue)
	}
	at := ms(p.Instant)
	key := periodicLastKey(p.Queue, p.Name)
	err := b.update(ctx, func(c *txc) error {
		res = backend.FirePeriodicResult{} // the transaction may run again
		bk := c.bucket(bucketPeriod)
		if v := bk.Get(key); len(v) == 8 {
			prev := binary.BigEndian.Uint64(v)
			res.Previous = msTime(int64(prev))
			if prev >= at {
				return nil
			}
		}
		if err := bk.Put(key, be64(at)); err != nil {
			return err
		}
		if p.Job != nil {
			q, err := c.queue(p.Queue, true)
			if err != nil {
				return err
			}
			if err := q.pushTail(encode(p.Job), c.now); err != nil {
				return err
			}
		}
		res.Recorded = true
		return nil
	})
	if err != nil {
		return backend.FirePeriodicResult{}, wrapErr("fire periodic", err)
	}
	return res, nil
}

// SetPeriodic implements backend.Backend: one transaction replaces the
// definitions.
func (b *Backend) SetPeriodic(ctx context.Context, defs []backend.PeriodicDef) error {
	vals := make([][]byte, len(defs))
	for i, d := range defs {
		v, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("joblot/bolt: set periodic %q: %w", d.Name, err)
		}
		vals[i] = v
	}
	err := b.update(ctx, func(c *txc) error {
		bk := c.bucket(bucketPeriod)
		var old [][]byte
		cur := bk.Cursor()
		for k, _ := cur.Seek([]byte("d")); k != nil && k[0] == 'd'; k, _ = cur.Next() {
			old = append(old, clone(k))
		}
		for _, k := range old {
			if err := bk.Delete(k); err != nil {
				return err
			}
		}
		for i, d := range defs {
			if err := bk.Put(append([]byte("d"), d.Name...), vals[i]); err != nil {
				return err
			}
		}
		return nil
	})
	return wrapErr("set periodic", err)
}

// ListPeriodic implements backend.Backend. A definition the file holds in
// a form this code cannot read is listed by name only.
func (b *Backend) ListPeriodic(ctx context.Context) ([]backend.PeriodicState, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []backend.PeriodicState
	err := b.view(func(tx *bbolt.Tx) error {
		bk := tx.Bucket(bucketPeriod)
		if bk == nil {
			return nil
		}
		cur := bk.Cursor()
		for k, v := cur.Seek([]byte("d")); k != nil && k[0] == 'd'; k, v = cur.Next() {
			var d backend.PeriodicDef
			if json.Unmarshal(v, &d) != nil {
				d = backend.PeriodicDef{}
			}
			d.Name = string(k[1:])
			s := backend.PeriodicState{PeriodicDef: d}
			if d.Queue != "" {
				if l := bk.Get(periodicLastKey(d.Queue, d.Name)); len(l) == 8 {
					s.Last = msTime(int64(binary.BigEndian.Uint64(l)))
				}
			}
			out = append(out, s)
		}
		return nil
	})
	if err != nil {
		return nil, wrapErr("list periodic", err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
