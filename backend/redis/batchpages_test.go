package redis

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/rediskeys"
)

// pageKeys returns the page keys ("…:bits:<p>") batch id holds now.
func pageKeys(t testing.TB, b *Backend, id string) []string {
	t.Helper()
	var out []string
	var cursor uint64
	pattern := b.keys.BatchTag(id) + ":" + rediskeys.SuffixPage + "*"
	for {
		e, err := b.c.Do(context.Background(), b.c.B().Scan().Cursor(cursor).Match(pattern).Count(1000).Build()).AsScanEntry()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e.Elements...)
		if cursor = e.Cursor; cursor == 0 {
			return out
		}
	}
}

// pageKey is page p's key of batch id.
func pageKey(b *Backend, id string, p int64) string {
	return b.keys.BatchKeys(id)[1] + ":" + strconv.FormatInt(p, 10)
}

// jobState reads the stored state of the job at index of batch id: its
// page's bits, or backend.DroppedPageState once the page is marked done.
func jobState(t testing.TB, b *Backend, id string, index int64) backend.JobState {
	t.Helper()
	ctx := context.Background()
	p, slot := backend.BatchPageOf(index)
	done, err := b.c.Do(ctx, b.c.B().Getbit().Key(b.keys.BatchKeys(id)[10]).Offset(p).Build()).AsInt64()
	if err != nil {
		t.Fatal(err)
	}
	if done == 1 {
		return backend.DroppedPageState
	}
	v, err := b.c.Do(ctx, b.c.B().Arbitrary("BITFIELD").Keys(pageKey(b, id, p)).Args("GET", "u2", "#"+strconv.FormatInt(slot, 10)).Build()).AsIntSlice()
	if err != nil {
		t.Fatal(err)
	}
	return backend.JobState(v[0])
}

// exists reports whether key exists.
func exists(t testing.TB, b *Backend, key string) bool {
	t.Helper()
	n, err := b.c.Do(context.Background(), b.c.B().Exists().Key(key).Build()).AsInt64()
	if err != nil {
		t.Fatal(err)
	}
	return n == 1
}

// A batch of three pages, run through the API: page 0 settles and its key
// is deleted (its done bit set); page 1 keeps a retrying job and its key;
// page 2 is partial and kept. Once the retrying job succeeds page 1 goes
// too. Stale duplicates of dropped pages' jobs change no counter (the
// conformance suite checks that on every backend).
func TestBatchPagesDropped(t *testing.T) {
	ctx := context.Background()
	b, _ := openTest(t)
	const n = 2*backend.BatchPageSize + 10
	id := "paged"
	if err := b.CreateBatch(ctx, &backend.BatchSpec{ID: id}); err != nil {
		t.Fatal(err)
	}
	jobs := make([]*backend.Job, n)
	for i := range jobs {
		jobs[i] = noopJob("q")
	}
	if err := b.AddToBatch(ctx, &backend.BatchAdd{BatchID: id, Jobs: jobs}); err != nil {
		t.Fatal(err)
	}
	if err := b.CommitBatch(ctx, id); err != nil {
		t.Fatal(err)
	}
	keep := int64(backend.BatchPageSize + 5)
	processAll(t, b, "q", func(f *backend.Fetched) backend.Result {
		if f.Job.BatchIndex == keep {
			j := f.Job.Clone()
			j.Attempt++
			j.ErrorClass, j.ErrorMessage, j.ErrorFingerprint = "E", "boom", "fp"
			return backend.Result{Fetched: f, Outcome: backend.OutcomeRetry, Job: j, RetryAt: time.Now().Add(time.Minute)}
		}
		return backend.Result{Fetched: f, Outcome: backend.OutcomeSucceeded}
	})
	if exists(t, b, pageKey(b, id, 0)) || !exists(t, b, pageKey(b, id, 1)) || !exists(t, b, pageKey(b, id, 2)) {
		t.Fatalf("page keys after page 0 settled: %q, want pages 1 and 2", pageKeys(t, b, id))
	}
	if s := jobState(t, b, id, 3); s != backend.DroppedPageState {
		t.Errorf("job 3 of the dropped page reads %v", s)
	}
	if s := jobState(t, b, id, keep); s != backend.StateFailing {
		t.Errorf("retrying job reads %v, want F", s)
	}
	pttl, err := b.c.Do(ctx, b.c.B().Pttl().Key(pageKey(b, id, 1)).Build()).AsInt64()
	if err != nil || pttl <= 0 {
		t.Errorf("page 1 TTL = %d, %v: a page must expire with its batch", pttl, err)
	}
	// Stale acks of page 0's jobs: nothing moves.
	events := []batchJobEvent{
		{batch: id, index: 0, event: backend.EventFailed, fail: &batchFailure{fingerprint: "fp", kind: "K", class: "E", message: "m", jobID: "j"}},
		{batch: id, index: 1, event: backend.EventDied, fail: &batchFailure{fingerprint: "fp", kind: "K", class: "E", message: "m", jobID: "j"}},
		{batch: id, index: 2, event: backend.EventSucceeded},
		{batch: id, index: 3, event: backend.EventDiscarded},
		{batch: id, index: 4, event: backend.EventSnoozed},
	}
	out, err := b.applyBatchEvents(ctx, events, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if string(out.masks) != string([]byte{0, 0, 0, 0, 0}) {
		t.Errorf("masks of stale events in a dropped page = %v, want none may write", out.masks)
	}
	st, err := b.BatchStatus(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Succeeded != n-1 || st.Failing != 1 || st.Dead != 0 || st.Pending != 0 || !st.DeathAt.IsZero() {
		t.Fatalf("status after stale events: %+v", st)
	}
	if exists(t, b, pageKey(b, id, 0)) {
		t.Errorf("a stale event recreated dropped page 0")
	}
	// The retrying job succeeds: page 1 is dropped too.
	out, err = b.applyBatchEvents(ctx, []batchJobEvent{{batch: id, index: keep, event: backend.EventSucceeded}}, time.Now())
	if err != nil || out.masks[0] != 0 {
		t.Fatal(out, err)
	}
	if keys := pageKeys(t, b, id); len(keys) != 1 || keys[0] != pageKey(b, id, 2) {
		t.Errorf("page keys = %q, want only the partial page 2", keys)
	}
}

// TestBatchPagesMemory: a batch of 1,000,000 jobs whose first 99 % have
// succeeded and whose last 1 % are retrying keeps about 1 % of the bits of
// its whole population: the pages still holding unfinished jobs, and one
// done bit per dropped page.
// The jobs are driven through batch_ack.lua directly (the queue side is
// not what is measured).
func TestBatchPagesMemory(t *testing.T) {
	const n, done = 1_000_000, 990_000
	ctx := context.Background()
	b, _ := openTest(t)
	id := "million"
	if err := b.CreateBatch(ctx, &backend.BatchSpec{ID: id}); err != nil {
		t.Fatal(err)
	}
	// Reserve the indexes as batch_add.lua does, without a million queued
	// payloads: the counters are all this test needs of them.
	meta := b.keys.BatchKeys(id)[0]
	if err := b.c.Do(ctx, b.c.B().Hset().Key(meta).FieldValue().FieldValue("total", strconv.Itoa(n)).FieldValue("pending", strconv.Itoa(n)).Build()).Error(); err != nil {
		t.Fatal(err)
	}
	if err := b.CommitBatch(ctx, id); err != nil {
		t.Fatal(err)
	}
	events := make([]batchJobEvent, n)
	for i := range events {
		events[i] = batchJobEvent{batch: id, index: int64(i), event: backend.EventSucceeded}
		if i >= done {
			events[i] = batchJobEvent{batch: id, index: int64(i), event: backend.EventFailed, fail: &batchFailure{fingerprint: "fp", kind: "K", class: "E", message: "m", jobID: "j"}}
		}
	}
	for i := 0; i < n; i += 50_000 {
		if _, err := b.applyBatchEvents(ctx, events[i:min(i+50_000, n)], time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	st, err := b.BatchStatus(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Succeeded != done || st.Failing != n-done || st.Pending != 0 {
		t.Fatalf("status: %+v", st)
	}
	var paged int64
	for _, k := range append(pageKeys(t, b, id), b.keys.BatchKeys(id)[10]) {
		u, err := b.c.Do(ctx, b.c.B().MemoryUsage().Key(k).Samples(0).Build()).AsInt64()
		if err != nil {
			t.Fatal(err)
		}
		paged += u
	}
	// The unpaged layout: one string of 2 bits per job.
	full := "full-bits"
	if err := b.c.Do(ctx, b.c.B().Setrange().Key(full).Offset((n+3)/4-1).Value("\x00").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	whole, err := b.c.Do(ctx, b.c.B().MemoryUsage().Key(full).Samples(0).Build()).AsInt64()
	if err != nil {
		t.Fatal(err)
	}
	livePages := len(pageKeys(t, b, id))
	t.Logf("1,000,000-job batch, 99 %% done: job states %d B in %d live pages + done bits (10,000 retrying jobs), against %d B unpaged (%.2f %%)", paged, livePages, whole, 100*float64(paged)/float64(whole))
	// The unfinished 1 % (10,000 jobs) spans at most 4 pages.
	if livePages > 4 || float64(paged) > 0.025*float64(whole) {
		t.Errorf("paged states take %d B in %d pages, want at most 4 pages and 2.5 %% of %d B", paged, livePages, whole)
	}
}

// A batch written by data model 2 (no "pages" meta field) keeps its
// unpaged bit string, read and written in place: readers accept the
// previous version during a rolling deploy, and no page key appears.
func TestBatchAckUnpagedDataModel2(t *testing.T) {
	ctx := context.Background()
	b, _ := openTest(t)
	id := "v2"
	if err := b.CreateBatch(ctx, &backend.BatchSpec{ID: id}); err != nil {
		t.Fatal(err)
	}
	if err := b.c.Do(ctx, b.c.B().Hdel().Key(b.keys.BatchKeys(id)[0]).Field("pages").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	const n = backend.BatchPageSize + 3 // two pages' worth, in one string
	jobs := make([]*backend.Job, n)
	for i := range jobs {
		jobs[i] = noopJob("q")
	}
	if err := b.AddToBatch(ctx, &backend.BatchAdd{BatchID: id, Jobs: jobs}); err != nil {
		t.Fatal(err)
	}
	if err := b.CommitBatch(ctx, id); err != nil {
		t.Fatal(err)
	}
	fail := func(index int64, ev backend.BatchEvent) batchJobEvent {
		return batchJobEvent{batch: id, index: index, event: ev, fail: &batchFailure{fingerprint: "fp", kind: "K", class: "E", message: "m", jobID: "j"}}
	}
	last := int64(n - 1)
	events := []batchJobEvent{
		{batch: id, index: 0, event: backend.EventSucceeded},
		fail(last, backend.EventFailed),
		fail(0, backend.EventFailed), // stale: S stays S
		fail(1, backend.EventDied),
		fail(n+5, backend.EventDied), // not a job of this batch
	}
	out, err := b.applyBatchEvents(ctx, events, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if want := []byte{0, 1, 0, 2, 3}; string(out.masks) != string(want) {
		t.Errorf("masks = %v, want %v", out.masks, want)
	}
	st, err := b.BatchStatus(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Succeeded != 1 || st.Failing != 1 || st.Dead != 1 || st.Pending != n-3 {
		t.Fatalf("status: %+v", st)
	}
	states, err := b.c.Do(ctx, b.c.B().Arbitrary("BITFIELD").Keys(b.keys.BatchKeys(id)[1]).Args("GET", "u2", "#0", "GET", "u2", "#1", "GET", "u2", "#"+strconv.FormatInt(last, 10)).Build()).AsIntSlice()
	if err != nil {
		t.Fatal(err)
	}
	if states[0] != int64(backend.StateSucceeded) || states[1] != int64(backend.StateEnded) || states[2] != int64(backend.StateFailing) {
		t.Errorf("unpaged states = %v, want [S X F]", states)
	}
	if keys := pageKeys(t, b, id); len(keys) != 0 {
		t.Errorf("page keys %q for an unpaged batch", keys)
	}
}

// A batch paged by another page size than the caller's (a BatchPageSize
// changed between versions) is found by the jobs' absolute indexes: its
// pages, slots, counts and drops are its own size's.
func TestBatchAckOtherPageSize(t *testing.T) {
	ctx := context.Background()
	b, _ := openTest(t)
	id := "p100"
	const psize, n = 100, 250
	reservedBatch(t, b, id, n)
	if err := b.c.Do(ctx, b.c.B().Hset().Key(b.keys.BatchKeys(id)[0]).FieldValue().FieldValue("pages", strconv.Itoa(psize)).Build()).Error(); err != nil {
		t.Fatal(err)
	}
	var events []batchJobEvent
	for i := range int64(psize) {
		events = append(events, batchJobEvent{batch: id, index: i, event: backend.EventSucceeded})
	}
	events = append(events,
		batchJobEvent{batch: id, index: 150, event: backend.EventFailed, fail: &batchFailure{fingerprint: "fp", kind: "K", class: "E", message: "m", jobID: "j"}},
		batchJobEvent{batch: id, index: 249, event: backend.EventSucceeded},
		batchJobEvent{batch: id, index: n + 50, event: backend.EventDied, fail: &batchFailure{fingerprint: "fp", kind: "K", class: "E", message: "m", jobID: "j"}},
	)
	out := applyEvents(t, b, events)
	if got := out.masks[psize:]; string(got) != string([]byte{1, 0, 3}) {
		t.Errorf("masks of the last three = %v, want [1 0 3]", got)
	}
	wantCounts(t, b, id, n-psize-2, 1, psize+1, 0)
	if exists(t, b, pageKey(b, id, 0)) {
		t.Error("page 0 (every job succeeded) still has its key")
	}
	applyEvents(t, b, succeeded(id, 5)) // stale: its page is dropped
	wantCounts(t, b, id, n-psize-2, 1, psize+1, 0)
	get := func(p int64, args ...string) []int64 {
		v, err := b.c.Do(ctx, b.c.B().Arbitrary("BITFIELD").Keys(pageKey(b, id, p)).Args(args...).Build()).AsIntSlice()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := get(1, "GET", "u2", "#50", "GET", "u16", strconv.Itoa(2*psize)); v[0] != int64(backend.StateFailing) || v[1] != 0 {
		t.Errorf("page 1: job 150's state, settled count = %v, want [1 0]", v)
	}
	if v := get(2, "GET", "u2", "#49", "GET", "u16", strconv.Itoa(2*psize)); v[0] != int64(backend.StateSucceeded) || v[1] != 1 {
		t.Errorf("page 2: job 249's state, settled count = %v, want [2 1]", v)
	}
}

// One call on an unpaged batch (data model 2) with jobs far apart: the
// states are read and written in windows, not one range spanning them.
func TestBatchAckUnpagedFarApart(t *testing.T) {
	ctx := context.Background()
	b, _ := openTest(t)
	id := "far"
	const n = 200_000
	reservedBatch(t, b, id, n)
	if err := b.c.Do(ctx, b.c.B().Hdel().Key(b.keys.BatchKeys(id)[0]).Field("pages").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	applyEvents(t, b, succeeded(id, 0, n/2, n-1, 1))
	applyEvents(t, b, succeeded(id, n-1)) // stale
	wantCounts(t, b, id, n-4, 0, 4, 0)
	states, err := b.c.Do(ctx, b.c.B().Arbitrary("BITFIELD").Keys(b.keys.BatchKeys(id)[1]).Args("GET", "u2", "#0", "GET", "u2", "#2", "GET", "u2", "#"+strconv.Itoa(n/2), "GET", "u2", "#"+strconv.Itoa(n-1)).Build()).AsIntSlice()
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{2, 0, 2, 2}; !slices.Equal(states, want) {
		t.Errorf("states = %v, want %v", states, want)
	}
}
