package bolt

import (
	"context"
	"encoding/binary"
	"errors"
	"path/filepath"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/joblot/joblot/backend"
)

// storedVersion reads the data-model version record (0: none).
func storedVersion(t *testing.T, db *bbolt.DB) uint64 {
	t.Helper()
	var v uint64
	_ = db.View(func(tx *bbolt.Tx) error {
		if m := tx.Bucket(bucketMeta); m != nil {
			v, _ = binary.Uvarint(m.Get(keyVersion))
		}
		return nil
	})
	return v
}

// TestVersionWrittenWithFirstWriteAndNewerRefused: a fresh file has no
// version record until the first write; a file of a newer data model is
// refused with ErrVersionTooNew and left untouched.
func TestVersionWrittenWithFirstWriteAndNewerRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "joblot.db")
	b, err := Open(path, Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if v := storedVersion(t, b.DB()); v != 0 {
		t.Fatalf("version %d recorded before any write", v)
	}
	if _, err := b.Enqueue(context.Background(), testJobs("q", 1, "j")); err != nil {
		t.Fatal(err)
	}
	if v := storedVersion(t, b.DB()); v != backend.DataModelVersion {
		t.Fatalf("version after the first write = %d, want %d", v, backend.DataModelVersion)
	}
	b.Close()

	db, err := bbolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyVersion, binary.AppendUvarint(nil, backend.DataModelVersion+1))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Open(path, Options{}); !errors.Is(err, backend.ErrVersionTooNew) {
		t.Fatalf("Open of a newer store = %v, want ErrVersionTooNew", err)
	}
}

// TestPausedQueueSkipped: Fetch skips a paused queue, Stats says it is
// paused, and its jobs run once it is resumed.
func TestPausedQueueSkipped(t *testing.T) {
	b := openTest(t)
	ctx := context.Background()
	if _, err := b.Enqueue(ctx, append(testJobs("a", 2, "a"), testJobs("b", 1, "b")...)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.PauseQueue(ctx, backend.PauseQueueParams{Queue: "a", Paused: true}); err != nil {
		t.Fatal(err)
	}
	fr, err := b.Fetch(ctx, backend.FetchParams{Proc: "p", Queues: []string{"a", "b"}, Max: 10})
	fs := fr.Jobs
	if err != nil || len(fs) != 1 || fs[0].Queue != "b" {
		t.Fatalf("Fetch with a paused = %d jobs, %v; want only b's job", len(fs), err)
	}
	st, err := b.Stats(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range st.Queues {
		if q.Paused != (q.Name == "a") {
			t.Fatalf("queue %s Paused = %v", q.Name, q.Paused)
		}
	}
	if _, err := b.PauseQueue(ctx, backend.PauseQueueParams{Queue: "a", Paused: false}); err != nil {
		t.Fatal(err)
	}
	if res, err := b.Fetch(ctx, backend.FetchParams{Proc: "p", Queues: []string{"a"}, Max: 10}); err != nil || len(res.Jobs) != 2 {
		t.Fatalf("Fetch after resume = %d jobs, %v", len(res.Jobs), err)
	}
}

// TestJanitorExpiresBatches: a succeeded batch lives for the success linger,
// an unfinished one for the horizon after its last event; the janitor
// (ForwardCallbacks) then deletes its data and its index entries, and a
// late event recreates nothing.
func TestJanitorExpiresBatches(t *testing.T) {
	b := openTest(t)
	ctx := context.Background()
	now := time.Now()
	for _, id := range []string{"done", "open"} {
		if err := b.CreateBatch(ctx, &backend.BatchSpec{ID: id, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		if err := b.AddToBatch(ctx, &backend.BatchAdd{BatchID: id, Jobs: testJobs("bq", 1, id)}); err != nil {
			t.Fatal(err)
		}
		if err := b.CommitBatch(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	fr, err := b.Fetch(ctx, backend.FetchParams{Proc: "p", Queues: []string{"bq"}, Max: 10})
	fs := fr.Jobs
	if err != nil || len(fs) != 2 {
		t.Fatalf("fetch: %d, %v", len(fs), err)
	}
	var late *backend.Fetched
	for _, f := range fs {
		if f.BatchID == "done" {
			if err := b.Complete(ctx, "p", []backend.Result{succeed(f)}); err != nil {
				t.Fatal(err)
			}
		} else {
			late = f
		}
	}
	st, err := b.BatchStatus(ctx, "done")
	if err != nil || st.State != backend.BatchSucceeded {
		t.Fatalf("status = %+v, %v", st, err)
	}
	if d := st.ExpiresAt.Sub(st.SuccessAt); d != backend.DefaultSuccessLinger {
		t.Fatalf("succeeded batch expires %v after success, want %v", d, backend.DefaultSuccessLinger)
	}

	if _, err := b.ForwardCallbacks(ctx, now.Add(backend.DefaultSuccessLinger+time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.BatchStatus(ctx, "done"); !errors.Is(err, backend.ErrBatchNotFound) {
		t.Fatalf("succeeded batch after its linger: %v, want ErrBatchNotFound", err)
	}
	if _, err := b.BatchStatus(ctx, "open"); err != nil {
		t.Fatalf("unfinished batch deleted before its horizon: %v", err)
	}

	if _, err := b.ForwardCallbacks(ctx, now.Add(backend.DefaultBatchHorizon+time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.BatchStatus(ctx, "open"); !errors.Is(err, backend.ErrBatchNotFound) {
		t.Fatalf("unfinished batch after its horizon: %v, want ErrBatchNotFound", err)
	}
	list, err := b.ListBatches(ctx, backend.BatchListOptions{})
	if err != nil || len(list) != 0 {
		t.Fatalf("ListBatches after expiry = %d batches, %v", len(list), err)
	}
	err = b.DB().View(func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketBIdx, bucketBExp, bucketBDl} {
			if k, _ := tx.Bucket(name).Cursor().First(); k != nil {
				t.Errorf("index %s still holds %q", name, k)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	if err := b.Complete(ctx, "p", []backend.Result{succeed(late)}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.BatchStatus(ctx, "open"); !errors.Is(err, backend.ErrBatchNotFound) {
		t.Fatalf("a late event recreated the batch: %v", err)
	}
	s, err := b.Stats(ctx, time.Now())
	if err != nil || s.ExpiredBatchEvents != 1 {
		t.Fatalf("ExpiredBatchEvents = %d, %v; want 1", s.ExpiredBatchEvents, err)
	}
}
