package redis

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// killJobs enqueues, fetches and kills jobs (one error shape, message
// msg) at died.
func killJobs(t *testing.T, b *Backend, died time.Time, msg string, jobs ...*backend.Job) []*backend.Job {
	t.Helper()
	ctx := context.Background()
	mustEnqueue(t, b, jobs...)
	fs := mustFetch(t, b, "p", jobs[0].Queue, len(jobs))
	if len(fs) != len(jobs) {
		t.Fatalf("fetched %d of %d", len(fs), len(jobs))
	}
	res := make([]backend.Result, len(fs))
	out := make([]*backend.Job, len(fs))
	for i, f := range fs {
		j := f.Job.Clone()
		j.Attempt = 1
		j.ErrorClass, j.ErrorMessage, j.ErrorFingerprint = "*net.OpError", msg, "fp-1"
		j.FailedAt, j.DiedAt = died, died
		res[i], out[i] = backend.Result{Fetched: f, Outcome: backend.OutcomeDead, Job: j}, j
	}
	if err := b.Complete(ctx, "p", res); err != nil {
		t.Fatal(err)
	}
	return out
}

// statsFields returns q's stats hash.
func statsFields(t *testing.T, b *Backend, q string) map[string]string {
	t.Helper()
	m, err := b.c.Do(context.Background(), b.c.B().Hgetall().Key(b.keys.QStats(q)).Build()).AsStrMap()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func wantDeadJob(t *testing.T, what string, got, want *backend.Job) {
	t.Helper()
	if got == nil || got.ID != want.ID || got.Queue != want.Queue || got.Kind != want.Kind || string(got.Args) != string(want.Args) ||
		got.ErrorClass != want.ErrorClass || got.ErrorMessage != want.ErrorMessage || got.ErrorFingerprint != want.ErrorFingerprint ||
		!got.DiedAt.Equal(want.DiedAt) || !got.FailedAt.Equal(want.FailedAt) || got.CreatedAt.UnixMilli() != want.CreatedAt.UnixMilli() || got.Attempt != want.Attempt {
		t.Fatalf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

// Dead jobs of data model 4 share their failure group (and their message
// when it is the same); dead jobs data model 3 stored (whole jobs) are still listed, found, retried, deleted
// and trimmed; and once no entry refers to a group it is gone and
// dead_bytes is back to 0.
func TestDeadEntriesSharedAndOld(t *testing.T) {
	ctx := context.Background()
	b, srv := openTest(t)
	died := time.UnixMilli(time.Now().Add(-time.Hour).UnixMilli())
	fresh := killJobs(t, b, died, "dial tcp: connection refused", newJob("q"), newJob("q"), newJob("q"))
	// The same group with another message, and with none.
	fresh = append(fresh, killJobs(t, b, died, "dial tcp 10.0.0.7:5432: i/o timeout", newJob("q"))...)
	fresh = append(fresh, killJobs(t, b, died, "", newJob("q"))...)
	// Two jobs as data model 3 wrote them: the whole job, scored by death.
	var old []*backend.Job
	for i := range 2 {
		j := newJob("q")
		j.CreatedAt = time.UnixMilli(j.CreatedAt.UnixMilli())
		j.Attempt, j.ErrorClass, j.ErrorMessage, j.ErrorFingerprint = 1, "panic", "old failure "+strconv.Itoa(i), "fp-old"
		j.FailedAt, j.DiedAt = died.Add(-time.Minute), died.Add(-time.Minute)
		raw, _ := j.MarshalBinary()
		if _, err := srv.Do("ZADD", b.keys.QDead("q"), strconv.FormatInt(j.DiedAt.UnixMilli(), 10), string(raw)); err != nil {
			t.Fatal(err)
		}
		if _, err := srv.Do("HINCRBY", b.keys.QStats("q"), "dead_bytes", strconv.Itoa(len(raw))); err != nil {
			t.Fatal(err)
		}
		old = append(old, j)
	}
	st := statsFields(t, b, "q")
	refs := 0
	for f, v := range st {
		if f[:2] == "n:" {
			refs++
			if v != "5" {
				t.Fatalf("group referred to by %s entries, want 5", v)
			}
		}
	}
	if refs != 1 {
		t.Fatalf("%d shared groups for one error shape: %q", refs, st)
	}

	page, err := b.ListJobs(ctx, backend.JobFilter{Set: backend.SetDead, Queue: "q", Limit: 100})
	if err != nil || len(page.Jobs) != 7 {
		t.Fatalf("listed %d, %v", len(page.Jobs), err)
	}
	byID := map[string]*backend.Job{}
	for _, j := range page.Jobs {
		byID[j.ID] = j
	}
	for _, j := range append(append([]*backend.Job{}, fresh...), old...) {
		wantDeadJob(t, "listed", byID[j.ID], j)
		res, err := b.FindJob(ctx, "q", j.ID)
		if err != nil || res.Set != backend.SetDead {
			t.Fatalf("find %s: %v %v", j.ID, res.Set, err)
		}
		wantDeadJob(t, "found", res.Job, j)
	}
	if got, err := b.ListJobs(ctx, backend.JobFilter{Set: backend.SetDead, Queue: "q", ErrorContains: "refused"}); err != nil || len(got.Jobs) != 3 {
		t.Fatalf("filter on the shared message: %d, %v", len(got.Jobs), err)
	}

	// Retry one of each: the queued job keeps its failure.
	if res, err := b.RetryJobs(ctx, backend.RetryJobsParams{Set: backend.SetDead, Queue: "q", IDs: []string{fresh[0].ID, old[0].ID}}); err != nil || res.Retried != 2 {
		t.Fatalf("retried %d, %v", res.Retried, err)
	}
	for _, want := range []*backend.Job{fresh[0], old[0]} {
		res, err := b.FindJob(ctx, "q", want.ID)
		if err != nil || res.Set != backend.SetQueued || !res.Job.ManualRetry || res.Job.ErrorMessage != want.ErrorMessage || res.Job.Kind != want.Kind {
			t.Fatalf("retried %s: %+v %v", want.ID, res, err)
		}
	}
	// Delete one of each, trim the rest by age.
	if res, err := b.DeleteJobs(ctx, backend.DeleteJobsParams{Set: backend.SetDead, Queue: "q", IDs: []string{fresh[1].ID, old[1].ID}}); err != nil || res.Deleted != 2 {
		t.Fatalf("deleted %d, %v", res.Deleted, err)
	}
	if _, ok := statsFields(t, b, "q")["dead_bytes"]; !ok {
		t.Fatal("no dead_bytes while a dead job is left")
	}
	if n, err := b.TrimDead(ctx, died.Add(backend.DefaultDeadMaxAge+time.Hour)); err != nil || n != 3 {
		t.Fatalf("trimmed %d, %v", n, err)
	}
	st = statsFields(t, b, "q")
	for f := range st {
		if f[:2] == "n:" || f[:2] == "e:" || f[:2] == "m:" {
			t.Fatalf("a group left with no dead job: %q", st)
		}
	}
	if st["dead_bytes"] != "0" {
		t.Fatalf("dead_bytes %q with no dead job", st["dead_bytes"])
	}
}

// Two failure groups that would share one reference (a hash collision,
// forced here) keep their own: the second group's entry is written with
// its group inline.
func TestDeadEntryCollisionInline(t *testing.T) {
	ctx := context.Background()
	b, srv := openTest(t)
	died := time.UnixMilli(time.Now().UnixMilli())
	j := newJob("q")
	j.Attempt, j.ErrorClass, j.ErrorMessage, j.ErrorFingerprint, j.FailedAt, j.DiedAt = 1, "*net.OpError", "dial tcp: connection refused", "fp-1", died, died
	ref := backend.DeadDetailsRef(backend.EncodeDead(j, died.UnixMilli()).Shared)
	if _, err := srv.Do("HSET", b.keys.QStats("q"), "e:"+ref, "other group", "m:"+ref, "", "n:"+ref, "1"); err != nil {
		t.Fatal(err)
	}
	killed := killJobs(t, b, died, "dial tcp: connection refused", j)
	res, err := b.FindJob(ctx, "q", killed[0].ID)
	if err != nil || res.Set != backend.SetDead {
		t.Fatalf("find: %v %v", res.Set, err)
	}
	wantDeadJob(t, "collided", res.Job, killed[0])
	if st := statsFields(t, b, "q"); st["e:"+ref] != "other group" || st["n:"+ref] != "1" {
		t.Fatalf("the other details changed: %q", st)
	}
	if res, err := b.DeleteJobs(ctx, backend.DeleteJobsParams{Set: backend.SetDead, Queue: "q", IDs: []string{killed[0].ID}}); err != nil || res.Deleted != 1 {
		t.Fatalf("deleted %d, %v", res.Deleted, err)
	}
	if st := statsFields(t, b, "q"); st["n:"+ref] != "1" || st["dead_bytes"] != "0" {
		t.Fatalf("after deleting the inline entry: %q", st)
	}
}

// A dead set deleted without the scripts that keep its groups (by hand,
// or trimmed by a data model 3 process during a rolling deploy) leaves
// groups no entry refers to; the next trim finds the set empty while its
// stats still count bytes and removes them, leaving the queue's counters.
func TestTrimRemovesOrphanedGroups(t *testing.T) {
	ctx := context.Background()
	b, srv := openTest(t)
	died := time.UnixMilli(time.Now().UnixMilli())
	killJobs(t, b, died, "dial tcp: connection refused", newJob("q"), newJob("q"))
	groups := func() int {
		n := 0
		for f := range statsFields(t, b, "q") {
			if f[:2] == "n:" || f[:2] == "e:" || f[:2] == "m:" {
				n++
			}
		}
		return n
	}
	if groups() == 0 {
		t.Fatal("no shared group written")
	}
	if _, err := srv.Do("DEL", b.keys.QDead("q")); err != nil {
		t.Fatal(err)
	}
	if _, err := b.TrimDead(ctx, died); err != nil {
		t.Fatal(err)
	}
	if n := groups(); n != 0 {
		t.Fatalf("%d group fields left with no dead set: %q", n, statsFields(t, b, "q"))
	}
	st := statsFields(t, b, "q")
	if st["dead_bytes"] != "0" || st["failed"] == "" {
		t.Fatalf("stats after the orphan sweep: %q", st)
	}
	// A second trim has nothing to do and no group to look for.
	if _, err := b.TrimDead(ctx, died); err != nil {
		t.Fatal(err)
	}
}
