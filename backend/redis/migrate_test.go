package redis

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/rediskeys"
	"github.com/joblot/joblot/internal/redistest"
)

// Migrate writes nothing to a Redis without joblot data, finds a store
// written by this joblot up to date, and refuses a newer one. (The step
// machinery is tested with injected chains in internal/migrate: version 1
// has no steps.)
func TestMigrate(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	opts := Options{URL: srv.URL}
	rep, err := Migrate(ctx, opts, backend.MigrateOptions{})
	if err != nil || rep.Version != 0 || rep.Applied || len(rep.Steps) != 0 {
		t.Fatalf("fresh Redis: %+v, %v", rep, err)
	}
	if n, _ := srv.Do("DBSIZE"); n != "0" {
		t.Fatalf("Migrate wrote to a Redis without joblot data: DBSIZE %s", n)
	}
	b, err := Open(ctx, opts) // records the data model
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	rep, err = Migrate(ctx, opts, backend.MigrateOptions{DryRun: true})
	if err != nil || rep.Version != backend.DataModelVersion || len(rep.Steps) != 0 || !rep.DryRun {
		t.Errorf("current store: %+v, %v", rep, err)
	}

	// A newer store is refused, by Migrate and by CheckVersion, and the
	// version lives under the layout's key.
	var keys rediskeys.Layout
	if _, err := srv.Do("SET", keys.Version(), itoa(backend.DataModelVersion+1)); err != nil {
		t.Fatal(err)
	}
	if _, err := Migrate(ctx, opts, backend.MigrateOptions{}); !errors.Is(err, backend.ErrVersionTooNew) {
		t.Errorf("newer store: %v", err)
	}
	if err := CheckVersion(ctx, b.c, ""); !errors.Is(err, backend.ErrVersionTooNew) {
		t.Errorf("CheckVersion on a newer store: %v", err)
	}
}

// v1Groups writes error groups as data model 1 did (c:, i:, l: fields and
// other, no :errc index) into batch id's :errs: n groups fp00.. with
// counts 1..n.
func v1Groups(t *testing.T, b *Backend, id string, n int, other int64) {
	t.Helper()
	ctx := context.Background()
	args := []string{}
	for i := range n {
		fp := fmt.Sprintf("fp%02d", i)
		args = append(args, "c:"+fp, itoa(int64(i+1)), "l:"+fp, "1700000000000", "i:"+fp, "1700000000000\njob\nK\nE\nmessage "+fp)
	}
	args = append(args, "other", itoa(other))
	k := b.keys.BatchKeys(id)
	if err := b.c.Do(ctx, b.c.B().Arbitrary("HSET").Keys(k[2]).Args(args...).Build()).Error(); err != nil {
		t.Fatal(err)
	}
	if err := b.c.Do(ctx, b.c.B().Pexpire().Key(k[2]).Milliseconds(3_600_000).Build()).Error(); err != nil {
		t.Fatal(err)
	}
}

// newTestBatch creates and commits a batch of n jobs.
func newTestBatch(t *testing.T, b *Backend, id string, n int) {
	t.Helper()
	ctx := context.Background()
	if err := b.CreateBatch(ctx, &backend.BatchSpec{ID: id}); err != nil {
		t.Fatal(err)
	}
	var js []*backend.Job
	for range n {
		js = append(js, noopJob("q"))
	}
	if err := b.AddToBatch(ctx, &backend.BatchAdd{BatchID: id, Jobs: js}); err != nil {
		t.Fatal(err)
	}
	if err := b.CommitBatch(ctx, id); err != nil {
		t.Fatal(err)
	}
}

// Data model 1 -> 2: the step indexes every batch's error groups in :errc
// (with the batch's TTL), leaves :errs as data model 1 reads it, runs
// again as a no-op, and the status reads the same groups before and after.
func TestMigrateIndexesErrorGroups(t *testing.T) {
	ctx := context.Background()
	b, srv := openTest(t)
	newTestBatch(t, b, "old", 4)
	newTestBatch(t, b, "clean", 4)
	v1Groups(t, b, "old", backend.MaxErrorGroups, 7)
	before, err := b.BatchStatus(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Do("SET", b.keys.Version(), "1"); err != nil {
		t.Fatal(err)
	}
	rep, err := Migrate(ctx, Options{URL: srv.URL}, backend.MigrateOptions{})
	if err != nil || !rep.Applied || len(rep.Steps) != backend.DataModelVersion-1 || rep.Version != 1 {
		t.Fatalf("migrate from 1: %+v, %v", rep, err)
	}
	errc := b.keys.BatchKeys("old")[8]
	zs, err := b.c.Do(ctx, b.c.B().Zrange().Key(errc).Min("0").Max("-1").Withscores().Build()).AsZScores()
	if err != nil || len(zs) != backend.MaxErrorGroups || zs[0].Member != "fp00" || zs[0].Score != 1 || zs[len(zs)-1].Score != backend.MaxErrorGroups {
		t.Fatalf("errc after the step: %v, %v", zs, err)
	}
	if ttl, _ := b.c.Do(ctx, b.c.B().Pttl().Key(errc).Build()).AsInt64(); ttl <= 0 {
		t.Errorf("errc has no TTL (%d)", ttl)
	}
	if n, _ := b.c.Do(ctx, b.c.B().Exists().Key(b.keys.BatchKeys("clean")[8]).Build()).AsInt64(); n != 0 {
		t.Errorf("a batch without errors got an index")
	}
	after, err := b.BatchStatus(ctx, "old")
	if err != nil || !reflect.DeepEqual(after.ErrorGroups, before.ErrorGroups) || after.OtherErrors != 7 {
		t.Fatalf("groups changed by the step: %+v / %+v", after.ErrorGroups, before.ErrorGroups)
	}
	if err := indexAllErrorGroups(ctx, b.c, b.keys); err != nil {
		t.Fatal(err)
	}
	if n, _ := b.c.Do(ctx, b.c.B().Zcard().Key(errc).Build()).AsInt64(); n != int64(backend.MaxErrorGroups) {
		t.Errorf("second run: %d indexed groups", n)
	}
	if rep, err := Migrate(ctx, Options{URL: srv.URL}, backend.MigrateOptions{}); err != nil || len(rep.Steps) != 0 || rep.Version != backend.DataModelVersion {
		t.Errorf("second migrate: %+v, %v", rep, err)
	}
}

// A batch of data model 1 that no migration reached yet, and groups a
// worker of data model 1 adds to an indexed batch during a rolling deploy,
// are read and counted: the first failure indexes the old groups, replaces
// the smallest (its count moving to other), and an unindexed group is
// adopted with its count.
func TestBatchAckReadsDataModel1Groups(t *testing.T) {
	ctx := context.Background()
	b, _ := openTest(t)
	newTestBatch(t, b, "old", 4)
	v1Groups(t, b, "old", backend.MaxErrorGroups, 7)
	fail := func(index int64, fp string) {
		t.Helper()
		ev := []batchJobEvent{{batch: "old", index: index, event: backend.EventFailed, fail: &batchFailure{fingerprint: fp, kind: "K", class: "E", message: "m " + fp, jobID: "j"}}}
		if _, err := b.applyBatchEvents(ctx, ev, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	fail(0, "fresh")
	st, err := b.BatchStatus(ctx, "old")
	if err != nil {
		t.Fatal(err)
	}
	groups := map[string]backend.ErrorGroup{}
	var sum int64
	for _, g := range st.ErrorGroups {
		groups[g.Fingerprint] = g
		sum += g.Count
	}
	n := int64(backend.MaxErrorGroups)
	if len(groups) != backend.MaxErrorGroups || groups["fp00"].Count != 0 || groups["fresh"].Count != 1 || groups["fresh"].Error != 1 || st.OtherErrors != 8 {
		t.Fatalf("after a new fingerprint: other %d, groups %+v", st.OtherErrors, st.ErrorGroups)
	}
	if want := n*(n+1)/2 + 7 + 1; sum+st.OtherErrors != want {
		t.Errorf("groups %d + other %d, want %d failures", sum, st.OtherErrors, want)
	}
	// A data model 1 worker adds a group the index does not hold.
	k := b.keys.BatchKeys("old")
	if err := b.c.Do(ctx, b.c.B().Arbitrary("HSET").Keys(k[2]).Args("c:legacy", "40", "i:legacy", "1\nj\nK\nE\nlegacy", "l:legacy", "1").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	fail(1, "legacy")
	if s, err := b.c.Do(ctx, b.c.B().Zscore().Key(k[8]).Member("legacy").Build()).AsFloat64(); err != nil || s != 41 {
		t.Errorf("legacy group's index score = %v, %v; want 41", s, err)
	}
	st, _ = b.BatchStatus(ctx, "old")
	if g := st.ErrorGroups[0]; g.Fingerprint != "legacy" || g.Count != 41 {
		t.Errorf("legacy group: %+v", g)
	}
}
