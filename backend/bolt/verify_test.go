package bolt

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"

	bbolt "go.etcd.io/bbolt"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/backendtest"
)

// TestBatchVerify runs the verify rows that damage a batch in the file
// (backendtest.RunBatchVerify).
func TestBatchVerify(t *testing.T) {
	backendtest.RunBatchVerify(t, func(t *testing.T, opts backendtest.Options) backend.Backend {
		b, err := Open(filepath.Join(t.TempDir(), "joblot.db"), Options{Limits: opts.Limits, NoSync: true})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		t.Cleanup(func() { _ = b.Close() })
		return b
	}, corrupter{})
}

// corrupter writes the file behind the backend's back, in its own bbolt
// transaction, touching only what each method names.
type corrupter struct{}

func (corrupter) update(t *testing.T, b backend.Backend, fn func(tx *bbolt.Tx) error) {
	t.Helper()
	if err := b.(*Backend).db.Update(fn); err != nil {
		t.Fatalf("corrupt: %v", err)
	}
}

func batchBucket(tx *bbolt.Tx, id string) (*bbolt.Bucket, error) {
	bk := tx.Bucket(bucketBatches).Bucket([]byte(id))
	if bk == nil {
		return nil, fmt.Errorf("no batch %s", id)
	}
	return bk, nil
}

func (c corrupter) AddCounter(t *testing.T, b backend.Backend, id string, k backend.Counter, delta int64) {
	c.update(t, b, func(tx *bbolt.Tx) error {
		bk, err := batchBucket(tx, id)
		if err != nil {
			return err
		}
		var m batchMeta
		if err := json.Unmarshal(bk.Get(keyBatchMeta), &m); err != nil {
			return err
		}
		m.Counters[k] += delta
		raw, err := json.Marshal(&m)
		if err != nil {
			return err
		}
		return bk.Put(keyBatchMeta, raw)
	})
}

func (c corrupter) SetState(t *testing.T, b backend.Backend, id string, idx int64, s backend.JobState) {
	c.update(t, b, func(tx *bbolt.Tx) error {
		bk, err := batchBucket(tx, id)
		if err != nil {
			return err
		}
		bt := &btx{id: id, bk: bk, pages: map[uint32][]byte{}, dirty: map[uint32]bool{}}
		bt.setState(idx, s)
		n := uint32(idx / pageJobs)
		return bk.Put(pageKey(n), bt.pages[n])
	})
}

func (c corrupter) DropQueued(t *testing.T, b backend.Backend, queue, id string) {
	c.update(t, b, func(tx *bbolt.Tx) error {
		jobs := tx.Bucket(bucketQueues).Bucket([]byte(queue)).Bucket(subJobs)
		cur := jobs.Cursor()
		for k, v := cur.First(); k != nil; k, v = cur.Next() {
			if wipID(v[8:]) == id {
				return cur.Delete()
			}
		}
		return fmt.Errorf("job %s not queued in %s", id, queue)
	})
}
