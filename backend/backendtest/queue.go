package backendtest

import (
	"slices"
	"time"

	"github.com/joblot/joblot/backend"
)

// queueTests cover Enqueue and Fetch: the codec round trip, FIFO order,
// queue order, max, and an empty queue.
func queueTests() []test {
	return []test{
		{name: "RoundTripPreservesEveryField", run: testRoundTrip},
		{name: "FIFOPerQueue", run: testFIFO},
		{name: "FetchTriesQueuesInOrder", run: testFetchQueueOrder},
		{name: "FetchRespectsMax", run: testFetchMax},
		{name: "FetchEmptyQueue", run: testFetchEmpty},
		{name: "FetchedJobIsNotFetchedAgain", run: testFetchClaims},
		{name: "EnqueueDedupesCallbackIDs", run: testEnqueueDedupesCallbacks},
	}
}

// fullJob sets every field of Job to a non-zero value.
func fullJob(h *harness, queue string) *backend.Job {
	j := h.job(queue)
	now := time.Now()
	j.Kind = "send_email"
	j.Args = []byte(`{"to":"a@example.com","body":"h\u00e9llo \u0000 bytes"}`)
	j.Attempt = 3
	j.MaxRetries = 7
	j.Timeout = 90 * time.Second
	j.CreatedAt = now.Add(-time.Hour)
	j.RunAt = now.Add(-time.Minute) // in the past: runs now, but keeps the field
	j.BatchID = "batch-roundtrip"
	j.BatchIndex = 0
	j.CallbackOf = "batch-parent"
	j.CallbackEvent = backend.CallbackSuccess
	j.ErrorClass = "*net.OpError"
	j.ErrorMessage = "dial tcp: connection refused"
	j.ErrorFingerprint = "fp-123"
	j.Backtrace = []byte{0x1f, 0x8b, 0, 1, 2, 255}
	j.FailedAt = now.Add(-30 * time.Minute)
	j.DiedAt = now.Add(-20 * time.Minute)
	j.Recoveries = 2
	j.ManualRetry = true
	return j
}

func testRoundTrip(h *harness) {
	a := fullJob(h, "default")
	b := fullJob(h, "default")
	b.BatchIndex = 12345
	b.MaxRetries = -1
	plain := h.job("default") // mostly zero fields
	h.enqueue(a, b, plain)

	p := h.proc("p1", "default")
	fs := h.fetch(p, []string{"default"}, 10)
	if len(fs) != 3 {
		h.t.Fatalf("fetched %d jobs, want 3", len(fs))
	}
	for i, want := range []*backend.Job{a, b, plain} {
		h.wantJob("fetched", fs[i].Job, want)
		decoded, err := backend.DecodeJob(fs[i].Raw)
		if err != nil {
			h.t.Fatalf("Raw of %s does not decode: %v", want.ID, err)
		}
		h.wantJob("decoded Raw", decoded, want)
	}
}

func testFIFO(h *harness) {
	js := h.jobs("default", 20)
	h.enqueue(js[:10]...)
	for _, j := range js[10:] { // one by one: order across calls too
		h.enqueue(j)
	}
	p := h.proc("p1", "default")
	var got []string
	for _, max := range []int{1, 3, 7, 100} {
		got = append(got, fetchedIDs(h.fetch(p, []string{"default"}, max))...)
	}
	if want := jobIDs(js); !slices.Equal(got, want) {
		h.t.Fatalf("fetch order = %v\nwant enqueue order %v", got, want)
	}
}

func testFetchQueueOrder(h *harness) {
	as := h.jobs("a", 2)
	bs := h.jobs("b", 3)
	h.enqueue(append(slices.Clone(as), bs...)...)
	p := h.proc("p1", "a", "b")
	var got []string
	for range 10 {
		fs := h.fetch(p, []string{"b", "a", "missing"}, 4)
		if len(fs) == 0 {
			break
		}
		got = append(got, fetchedIDs(fs)...)
	}
	want := append(jobIDs(bs), jobIDs(as)...)
	if !slices.Equal(got, want) {
		h.t.Fatalf("Fetch(b, a) order = %v, want b's jobs before a's: %v", got, want)
	}
}

func testFetchMax(h *harness) {
	h.enqueue(h.jobs("a", 5)...)
	h.enqueue(h.jobs("b", 5)...)
	p := h.proc("p1", "a", "b")
	total := 0
	for _, max := range []int{1, 2, 3} {
		fs := h.fetch(p, []string{"a", "b"}, max) // fetch checks len <= max
		if len(fs) == 0 {
			h.t.Fatalf("Fetch(max=%d) returned nothing with jobs waiting", max)
		}
		total += len(fs)
	}
	rest := h.fetchAll(p, []string{"a", "b"}, 4)
	if total+len(rest) != 10 {
		h.t.Fatalf("fetched %d jobs in all, want 10", total+len(rest))
	}
}

func testFetchEmpty(h *harness) {
	p := h.proc("p1", "default")
	// Fetch must not block: one that waited for a job would only return
	// when the harness's context ends, and fail. How fast it returns is a
	// benchmark's business, not a test's.
	fs := h.fetch(p, []string{"default", "never-used"}, 10)
	if len(fs) != 0 {
		h.t.Fatalf("Fetch on empty queues returned %d jobs", len(fs))
	}
	// A queue that had jobs and ran empty behaves the same.
	h.enqueue(h.job("default"))
	h.fetchOne(p, "default")
	if fs := h.fetch(p, []string{"default"}, 10); len(fs) != 0 {
		h.t.Fatalf("Fetch on a drained queue returned %d jobs", len(fs))
	}
}

func testFetchClaims(h *harness) {
	h.enqueue(h.jobs("default", 3)...)
	p1 := h.proc("p1", "default")
	p2 := h.proc("p2", "default")
	first := h.fetch(p1, []string{"default"}, 2)
	second := h.fetch(p2, []string{"default"}, 10)
	if len(first) != 2 || len(second) != 1 {
		h.t.Fatalf("p1 got %d and p2 got %d jobs, want 2 and 1", len(first), len(second))
	}
	if slices.Contains(fetchedIDs(first), second[0].ID) {
		h.t.Fatalf("job %s handed to two processes", second[0].ID)
	}
	// In-flight jobs are not listed as queued.
	h.wantSet(backend.SetQueued, "default")
}

// testEnqueueDedupesCallbackIDs enqueues a callback job under its
// deterministic ID twice, as two racing forwarders would: it is stored once,
// and still once after the first copy ran.
func testEnqueueDedupesCallbacks(h *harness) {
	mk := func() *backend.Job {
		j := h.job(cbQueue)
		j.CallbackOf = "some-batch"
		j.CallbackEvent = backend.CallbackComplete
		j.ID = backend.CallbackJobID(j.CallbackOf, j.CallbackEvent)
		return j
	}
	first := mk()
	if res := h.enqueueResult(first); res.Skipped != nil {
		h.t.Fatalf("first enqueue of a callback: Skipped = %+v, want none", res.Skipped)
	}
	// A plain job, a duplicate callback, a scheduled plain job: the result
	// names the duplicate by its position and the job it duplicates.
	later := h.job(cbQueue)
	later.RunAt = time.Now().Add(time.Hour)
	res := h.enqueueResult(h.job(cbQueue), mk(), later)
	want := []backend.Skipped{{Index: 1, ExistingID: first.ID}}
	if !slices.Equal(res.Skipped, want) {
		h.t.Fatalf("Skipped = %+v, want %+v", res.Skipped, want)
	}
	if !res.Stored(0) || res.Stored(1) || !res.Stored(2) {
		h.t.Fatalf("Stored(0, 1, 2) = %v, %v, %v; want true, false, true", res.Stored(0), res.Stored(1), res.Stored(2))
	}
	if got := len(h.setIDs(backend.SetQueued, cbQueue)); got != 2 {
		h.t.Fatalf("%d jobs queued, want the callback once and the plain job", got)
	}
	p := h.proc("p1", cbQueue)
	h.complete(p, succeededAll(h.fetchAll(p, []string{cbQueue}, 10))...)
	if res := h.enqueueResult(mk()); len(res.Skipped) != 1 {
		h.t.Fatalf("callback enqueued again after it ran: Skipped = %+v", res.Skipped)
	}
	if got := h.setIDs(backend.SetQueued, cbQueue); len(got) != 0 {
		h.t.Fatalf("callback enqueued again after it ran: %v", got)
	}
}
