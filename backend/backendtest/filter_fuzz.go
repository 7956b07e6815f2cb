package backendtest

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// filterFuzzQueues are the queues FuzzJobFilter seeds.
var filterFuzzQueues = [...]string{"mail", "ünï:code"}

// FuzzJobFilter checks the job filters the CLI and the Inspector pass
// through (queue, kind, batch, error text, error group, page size) against
// a model: b is seeded with scheduled jobs whose fields hold look-alikes
// (case, Unicode, separators, control bytes), and for any filter, paging
// through ListJobs must return exactly the seeded jobs the filter selects,
// each once, or fail with an error and no jobs. b must be empty; it is
// shared by every input, which only reads it.
func FuzzJobFilter(f *testing.F, b backend.Backend) {
	ctx := context.Background()
	kinds := []string{"email", "Email", "émail", "a\x00b", "k:1"}
	batches := []string{"", "b1", "b1 ", "b2"}
	errs := []string{"timeout after 3s", "TIMEOUT", "conn reset", "", "ünïcode ✓", "a\nb"}
	fps := []string{"", "fp1", "fp2"}
	runAt := time.Now().Add(1000 * time.Hour)
	var all []*backend.Job
	for i := range 90 {
		all = append(all, &backend.Job{
			ID: backend.NewJobID() + "-" + strconv.Itoa(i), Queue: filterFuzzQueues[i%2],
			Kind: kinds[i%len(kinds)], BatchID: batches[i/2%len(batches)],
			ErrorMessage: errs[i%len(errs)], ErrorFingerprint: fps[i/3%len(fps)],
			Args: []byte(`{}`), CreatedAt: time.UnixMilli(1_700_000_000_000), RunAt: runAt.Add(time.Duration(i) * time.Second),
		})
	}
	if _, err := b.Enqueue(ctx, all); err != nil {
		f.Fatalf("seed: %v", err)
	}
	f.Add("", "email", "", "", "", uint8(0))
	f.Add("mail", "", "b1", "time", "", uint8(7))
	f.Add("ünï:code", "k:1", "b1 ", "", "fp2", uint8(1))
	f.Add("", "a\x00b", "", "\n", "", uint8(3))
	f.Add("nope", "", "", "ü", "fp1", uint8(200))
	f.Fuzz(func(t *testing.T, queue, kind, batch, errText, fp string, limit uint8) {
		filter := backend.JobFilter{Set: backend.SetScheduled, Queue: queue, Kind: kind, BatchID: batch,
			ErrorContains: errText, ErrorFingerprint: fp, Limit: int(limit)}
		var want []string
		for _, j := range all {
			if (queue == "" || j.Queue == queue) && filter.Matches(j) {
				want = append(want, j.ID)
			}
		}
		var got []string
		for range len(all) + 2 {
			page, err := b.ListJobs(ctx, filter)
			if err != nil {
				if len(got) > 0 {
					t.Fatalf("ListJobs(%+v) failed after %d jobs: %v", filter, len(got), err)
				}
				return
			}
			for _, j := range page.Jobs {
				got = append(got, j.ID)
			}
			if page.Next == "" {
				slices.Sort(got)
				slices.Sort(want)
				if !slices.Equal(got, want) {
					t.Fatalf("ListJobs(%+v) listed %d jobs, the model selects %d", filter, len(got), len(want))
				}
				if len(slices.Compact(got)) != len(want) {
					t.Fatalf("ListJobs(%+v) listed a job twice", filter)
				}
				return
			}
			if page.Next == filter.Cursor {
				t.Fatalf("ListJobs(%+v) returned its own cursor", filter)
			}
			filter.Cursor = page.Next
		}
		t.Fatalf("ListJobs(%+v) never reached the end", filter)
	})
}
