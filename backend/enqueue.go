package backend

import "slices"

// EnqueueResult tells the caller of Enqueue what happened to each job: every
// job it does not list in Skipped was stored.
type EnqueueResult struct {
	// Skipped lists the jobs that were not stored because the store already
	// holds (or held within its dedupe window) a job they duplicate, in
	// the order of their Index. Nil when every job was stored, so the
	// common case allocates nothing.
	Skipped []Skipped
}

// Skipped is one job Enqueue did not store.
type Skipped struct {
	// Index is the job's position in the slice given to Enqueue.
	Index int
	// ExistingID is the ID of the job it duplicates.
	ExistingID string
}

// Stored reports whether the job at index i of the Enqueue call was stored.
func (r EnqueueResult) Stored(i int) bool {
	_, found := r.skippedAt(i)
	return !found
}

// Duplicate returns the ID of the job that the job at index i duplicates,
// and whether it was skipped as a duplicate.
func (r EnqueueResult) Duplicate(i int) (existingID string, skipped bool) {
	k, found := r.skippedAt(i)
	if !found {
		return "", false
	}
	return r.Skipped[k].ExistingID, true
}

func (r EnqueueResult) skippedAt(i int) (int, bool) {
	return slices.BinarySearchFunc(r.Skipped, i, func(s Skipped, i int) int { return s.Index - i })
}

// Sort orders Skipped by Index, for backends that collect them out of order.
func (r *EnqueueResult) Sort() {
	slices.SortFunc(r.Skipped, func(a, b Skipped) int { return a.Index - b.Index })
}

// Offset returns r with every index moved by n: a backend that splits one
// call into parts uses it to merge the parts' results.
func (r EnqueueResult) Offset(n int) EnqueueResult {
	if n == 0 || len(r.Skipped) == 0 {
		return r
	}
	out := EnqueueResult{Skipped: make([]Skipped, len(r.Skipped))}
	for k, s := range r.Skipped {
		out.Skipped[k] = Skipped{Index: s.Index + n, ExistingID: s.ExistingID}
	}
	return out
}
