package bolt

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/joblot/joblot/backend"
)

// writeV1Groups gives batch id n error groups fp00.. with counts 1..n and
// other as data model 1 stored them: e<fp> records and meta.Groups, no
// index, no ErrIndexed.
func writeV1Groups(t *testing.T, db *bbolt.DB, id string, n int, other int64) {
	t.Helper()
	err := db.Update(func(tx *bbolt.Tx) error {
		bk := tx.Bucket(bucketBatches).Bucket([]byte(id))
		m, err := readMeta(bk)
		if err != nil {
			return err
		}
		for i := range n {
			raw, _ := json.Marshal(errGroup{Kind: "K", Class: "E", Message: "m", JobID: "j", Count: int64(i + 1), First: 1, Last: 1})
			if err := bk.Put(errKey(fmt.Sprintf("fp%02d", i)), raw); err != nil {
				return err
			}
		}
		m.Groups, m.Other, m.ErrIndexed = n, other, false
		raw, _ := json.Marshal(m)
		return bk.Put(keyBatchMeta, raw)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// indexOf returns batch id's error-group index: fingerprint -> Count+Error.
func indexOf(t *testing.T, db *bbolt.DB, id string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	err := db.View(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketBatches).Bucket([]byte(id)).Cursor()
		for k, _ := c.Seek([]byte{estPrefix}); k != nil && k[0] == estPrefix; k, _ = c.Next() {
			out[string(k[9:])] = int64(binary.BigEndian.Uint64(k[1:9]))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A batch written by data model 1 (no index) is indexed on its next
// failure, which then replaces the smallest group; the groups' counts plus
// other still add up.
func TestErrorGroupsOfDataModel1Batch(t *testing.T) {
	ctx := context.Background()
	b := openTest(t)
	if err := b.CreateBatch(ctx, &backend.BatchSpec{ID: "old", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	writeV1Groups(t, b.DB(), "old", backend.MaxErrorGroups, 7)
	err := b.update(ctx, func(c *txc) error {
		bt, err := c.batch("old")
		if err != nil {
			return err
		}
		bt.touched = true
		return c.countError(bt, &backend.Job{ID: "j2", Kind: "K", ErrorClass: "E", ErrorMessage: "new", ErrorFingerprint: "fresh"})
	})
	if err != nil {
		t.Fatal(err)
	}
	idx := indexOf(t, b.DB(), "old")
	if len(idx) != backend.MaxErrorGroups || idx["fresh"] != 2 || idx["fp00"] != 0 || idx["fp31"] != 32 {
		t.Fatalf("index after a failure: %v", idx)
	}
	st, err := b.BatchStatus(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, g := range st.ErrorGroups {
		sum += g.Count
		if g.Fingerprint == "fresh" && (g.Count != 1 || g.Error != 1) {
			t.Errorf("new group %+v, want count 1, error 1", g)
		}
	}
	n := int64(backend.MaxErrorGroups)
	if st.OtherErrors != 8 || sum+st.OtherErrors != n*(n+1)/2+7+1 {
		t.Errorf("groups %d + other %d after replacing fp00", sum, st.OtherErrors)
	}
}

// Data model 1 -> 2 indexes every batch's groups, and running it again
// changes nothing.
func TestMigrateIndexesErrorGroups(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "joblot.db")
	b, err := Open(path, Options{NoSync: true, NoLocalEndpoint: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"old", "clean"} {
		if err := b.CreateBatch(ctx, &backend.BatchSpec{ID: id, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	writeV1Groups(t, b.DB(), "old", 3, 0)
	err = b.DB().Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyVersion, binary.AppendUvarint(nil, 1))
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	for run := range 2 {
		rep, err := Migrate(ctx, path, Options{}, backend.MigrateOptions{})
		if err != nil || rep.Applied != (run == 0) {
			t.Fatalf("migrate run %d: %+v, %v", run, rep, err)
		}
		if run == 0 && (rep.Version != 1 || len(rep.Steps) != backend.DataModelVersion-1) {
			t.Fatalf("migrate from 1: %+v", rep)
		}
	}
	b, err = Open(path, Options{NoSync: true, NoLocalEndpoint: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if idx := indexOf(t, b.DB(), "old"); len(idx) != 3 || idx["fp00"] != 1 || idx["fp02"] != 3 {
		t.Errorf("index after the migration: %v", idx)
	}
	err = b.DB().View(func(tx *bbolt.Tx) error {
		for _, id := range []string{"old", "clean"} {
			m, err := readMeta(tx.Bucket(bucketBatches).Bucket([]byte(id)))
			if err != nil || !m.ErrIndexed {
				t.Errorf("batch %s: indexed %v, %v", id, m != nil && m.ErrIndexed, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
