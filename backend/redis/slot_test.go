package redis

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/redistest"
)

// crc16 is the CRC16/XMODEM Redis Cluster uses for key slots.
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for b := 0; b < 8; b++ {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// clusterSlot is the Redis Cluster slot of key, honouring hash tags.
func clusterSlot(key string) uint16 {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	return crc16(key) % 16384
}

func TestClusterSlotKnownValues(t *testing.T) {
	// Values from the Redis Cluster specification and redis-cli CLUSTER KEYSLOT.
	for key, want := range map[string]uint16{"123456789": 12739 % 16384, "foo": 12182, "{user1000}.following": clusterSlot("user1000")} {
		if got := clusterSlot(key); got != want {
			t.Fatalf("slot(%q) = %d, want %d", key, got, want)
		}
	}
}

// TestScriptKeysShareOneSlot runs a workload touching every script and
// asserts that the keys of each script call hash to one Cluster slot and
// belong to the backend's key prefix, under the default prefix and another.
func TestScriptKeysShareOneSlot(t *testing.T) {
	for _, prefix := range []string{"", "app.1-x"} {
		t.Run("prefix="+prefix, func(t *testing.T) { scriptKeysShareOneSlot(t, prefix) })
	}
}

func scriptKeysShareOneSlot(t *testing.T, prefix string) {
	ctx := context.Background()
	srv := redistest.Start(t)
	b, err := Open(ctx, Options{URL: srv.URL, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	var mu sync.Mutex
	used := map[string]int{}
	var bad []string
	b.hook = func(name string, keys []string) {
		mu.Lock()
		defer mu.Unlock()
		used[name]++
		for _, k := range keys[1:] {
			if clusterSlot(k) != clusterSlot(keys[0]) {
				bad = append(bad, fmt.Sprintf("%s: %q and %q", name, keys[0], k))
			}
		}
		for _, k := range keys {
			if !b.keys.Owns(k) {
				bad = append(bad, fmt.Sprintf("%s: %q is not a key of prefix %q", name, k, b.keys.Prefix()))
			}
		}
	}
	now := time.Now()
	if err := b.Heartbeat(ctx, backend.ProcessInfo{ID: "p1", Queues: []string{"a", "b"}}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Lease(ctx, backend.LeaseParams{Name: "poller", Holder: "p1", TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	// Plain jobs, scheduled jobs, two queues.
	sched := newJob("b")
	sched.RunAt = now.Add(-time.Millisecond)
	later := newJob("b")
	later.RunAt = now.Add(time.Hour)
	mustEnqueue(t, b, newJob("a"), newJob("a"), newJob("a"), newJob("b"), later)
	// A parent batch with a child, callbacks on both.
	cb := func(q string) map[backend.CallbackEvent]*backend.Job {
		return map[backend.CallbackEvent]*backend.Job{
			backend.CallbackComplete: {Kind: "done", Queue: q},
			backend.CallbackSuccess:  {Kind: "ok", Queue: q},
			backend.CallbackDeath:    {Kind: "died", Queue: q},
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(b.CreateBatch(ctx, &backend.BatchSpec{ID: "parent", Callbacks: cb("a"), CreatedAt: now}))
	must(b.CreateBatch(ctx, &backend.BatchSpec{ID: "child", ParentID: "parent", Callbacks: cb("b"), CreatedAt: now}))
	must(b.AddToBatch(ctx, &backend.BatchAdd{BatchID: "parent", Jobs: []*backend.Job{newJob("a"), newJob("a"), newJob("a")}}))
	must(b.AddToBatch(ctx, &backend.BatchAdd{BatchID: "child", AddedBy: "x", Jobs: []*backend.Job{newJob("b"), newJob("b")}}))
	must(b.CommitBatch(ctx, "parent"))
	must(b.CommitBatch(ctx, "child"))
	must(b.CreateBatch(ctx, &backend.BatchSpec{ID: "doomed", CreatedAt: now, CommitDeadline: now.Add(time.Millisecond)}))
	must(b.CancelBatch(ctx, "doomed"))
	if _, err := b.MoveDue(ctx, now, 100); err != nil {
		t.Fatal(err)
	}

	// Work everything off: some succeed, some fail, some die.
	for round := 0; round < 20; round++ {
		fr, err := b.Fetch(ctx, backend.FetchParams{Proc: "p1", Queues: []string{"a", "b"}, Max: 4})
		fs := fr.Jobs
		must(err)
		if len(fs) == 0 {
			break
		}
		var res []backend.Result
		for i, f := range fs {
			switch {
			case f.CallbackOf != "" || i%4 == 0:
				res = append(res, backend.Result{Fetched: f, Outcome: backend.OutcomeSucceeded})
			case i%4 == 1 && f.Attempt == 0:
				j := f.Job.Clone()
				j.Attempt++
				j.ErrorMessage, j.ErrorClass, j.ErrorFingerprint = "flaky", "E", "fp1"
				res = append(res, backend.Result{Fetched: f, Outcome: backend.OutcomeRetry, Job: j, RetryAt: now})
			case i%4 == 2:
				j := f.Job.Clone()
				j.ErrorMessage, j.ErrorClass, j.ErrorFingerprint, j.DiedAt = "fatal", "F", "fp2", now
				res = append(res, backend.Result{Fetched: f, Outcome: backend.OutcomeDead, Job: j})
			case i%4 == 3:
				res = append(res, backend.Result{Fetched: f, Outcome: backend.OutcomeDiscarded})
			default:
				res = append(res, backend.Result{Fetched: f, Outcome: backend.OutcomeRequeue})
			}
		}
		must(b.Complete(ctx, "p1", res))
		if _, err := b.MoveDue(ctx, time.Now(), 100); err != nil {
			t.Fatal(err)
		}
	}
	// Orphans, forwarding, expiry, trimming, admin.
	must(b.Heartbeat(ctx, backend.ProcessInfo{ID: "p2"}, time.Millisecond))
	mustEnqueue(t, b, newJob("a"))
	mustFetch(t, b, "p2", "a", 1)
	if _, err := b.RecoverOrphans(ctx, time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.ForwardCallbacks(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.TrimDead(ctx, time.Now()); err != nil {
		t.Fatal(err)
	}
	page, err := b.ListJobs(ctx, backend.JobFilter{Set: backend.SetDead})
	must(err)
	if len(page.Jobs) < 2 {
		t.Fatalf("workload left %d dead jobs, want at least 2", len(page.Jobs))
	}
	if _, err := b.RetryJobs(ctx, backend.RetryJobsParams{Set: backend.SetDead, Queue: "", IDs: []string{page.Jobs[0].ID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.DeleteJobs(ctx, backend.DeleteJobsParams{Set: backend.SetDead, Queue: "", IDs: []string{page.Jobs[1].ID}}); err != nil {
		t.Fatal(err)
	}
	for _, paused := range []bool{true, false} {
		if _, err := b.PauseQueue(ctx, backend.PauseQueueParams{Queue: "a", Paused: paused}); err != nil {
			t.Fatal(err)
		}
	}
	mustEnqueue(t, b, later)
	if _, err := b.DeleteJobs(ctx, backend.DeleteJobsParams{Set: backend.SetScheduled, Queue: "b", IDs: []string{later.ID}}); err != nil {
		t.Fatal(err)
	}
	must(b.DeleteBatch(ctx, "child")) // releases it from its parent

	// A batch repair (batch_repair.lua): a counter moved behind its back.
	if err := b.CreateBatch(ctx, &backend.BatchSpec{ID: "slot-verify", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := b.AddToBatch(ctx, &backend.BatchAdd{BatchID: "slot-verify", Jobs: []*backend.Job{newJob("a")}}); err != nil {
		t.Fatal(err)
	}
	must(b.c.Do(ctx, b.c.B().Hincrby().Key(b.keys.BMeta("slot-verify")).Field("succeeded").Increment(1).Build()).Error())
	if res, err := b.VerifyBatch(ctx, backend.VerifyBatchParams{ID: "slot-verify", Repair: true}); err != nil || !res.Repaired {
		t.Fatalf("VerifyBatch repair: %+v, %v", res, err)
	}

	if len(bad) > 0 {
		t.Fatalf("script calls spanning slots:\n%s", strings.Join(bad, "\n"))
	}
	var missing []string
	for _, s := range []*script{b.s.enqueue, b.s.ring, b.s.resume, b.s.fetch, b.s.complete, b.s.moveDue, b.s.trim, b.s.lease, b.s.heartbeat,
		b.s.retryJobs, b.s.deleteJobs, b.s.batchCreate, b.s.batchChild, b.s.batchAdd, b.s.batchLanded, b.s.batchCommit,
		b.s.batchAck, b.s.batchKidDone, b.s.batchKidGone, b.s.batchCancel, b.s.batchExpire, b.s.batchRepair} {
		if used[s.name] == 0 {
			missing = append(missing, s.name)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("workload never ran %v (used: %v)", missing, used)
	}
}
