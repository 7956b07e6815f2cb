package backend

import (
	"cmp"
	"slices"
	"time"
)

// Error groups across batches. Every failure a backend records (a retry
// or dead entry written by Complete, or a poison pill sent dead by
// recovery) counts once, in the same atomic step that removes the job's
// in-flight entry, in its queue's error bucket of the hour (UTC) the
// backend's clock says: per fingerprint a count, first and last seen, and
// one sample (kind, class, job id, message cut by ErrorSample). A bucket
// keeps Limits.ErrorGroupsPerHour fingerprints; further ones count in the
// bucket's "other". Buckets live for Limits.ErrorGroupRetention after
// their hour ends, then expire (Redis) or are pruned (the embedded store's
// janitor); a query ignores them from then on either way.

// ErrorBucket is the width of one error bucket.
const ErrorBucket = time.Hour

// Error group defaults (Limits).
const (
	// DefaultErrorGroupsPerHour is how many fingerprints one queue's
	// bucket of one hour keeps before counting further ones as other.
	DefaultErrorGroupsPerHour = 100
	// DefaultErrorGroupRetention is how long an hour's bucket is kept
	// after the hour ends.
	DefaultErrorGroupRetention = 48 * time.Hour
)

// ErrorGroupFilter selects the error groups ErrorGroups returns. Empty
// fields match everything.
type ErrorGroupFilter struct {
	// Queue limits the groups to one queue.
	Queue string
	// Kind limits the groups to one job kind. The failures counted as
	// other carry no kind: with Kind set, no other row is returned.
	Kind string
	// Since keeps the hourly buckets holding a failure at or after it:
	// counts are of whole hours, so a group may count failures of the
	// hour of Since that came before it. Zero means the whole retention.
	Since time.Time
	// Limit caps the groups returned, most frequent first (0: all). The
	// other rows come on top of it.
	Limit int
}

// ErrorGroupStat is one error group of one queue over the buckets a query
// covers: the sum of its hourly counts, the first and last time it was
// seen, and one sample (from the latest of its buckets).
type ErrorGroupStat struct {
	Queue string
	ErrorGroup
	// Other marks the row of a queue's failures beyond the groups kept per
	// hour: only Queue, Count, FirstSeen and LastSeen are set (LastSeen is
	// the end of the latest such hour, FirstSeen the start of the first).
	Other bool
}

// SortErrorGroups orders groups as ErrorGroups returns them: most frequent
// first (then latest seen, queue, fingerprint), the other rows last by
// queue, and cuts the groups (not the other rows) to limit when positive.
func SortErrorGroups(stats []ErrorGroupStat, limit int) []ErrorGroupStat {
	slices.SortFunc(stats, func(a, b ErrorGroupStat) int {
		if a.Other != b.Other {
			if a.Other {
				return 1
			}
			return -1
		}
		if a.Other {
			return cmp.Compare(a.Queue, b.Queue)
		}
		if c := cmp.Compare(b.Count, a.Count); c != 0 {
			return c
		}
		if c := b.LastSeen.Compare(a.LastSeen); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Queue, b.Queue); c != 0 {
			return c
		}
		return cmp.Compare(a.Fingerprint, b.Fingerprint)
	})
	if limit > 0 {
		groups := 0
		for groups < len(stats) && !stats[groups].Other {
			groups++
		}
		if groups > limit {
			stats = append(stats[:limit], stats[groups:]...)
		}
	}
	return stats
}

// ErrorHour is the start of the error bucket holding t.
func ErrorHour(t time.Time) time.Time { return t.UTC().Truncate(ErrorBucket) }

// ErrorHours returns the starts of the error buckets a query at now
// covers, oldest first: those whose end is after now − retention and after
// since, up to the bucket after now's (a writer whose clock runs a little
// ahead of the reader's).
func ErrorHours(now, since time.Time, retention time.Duration) []time.Time {
	from := now.Add(-retention)
	if since.After(from) {
		from = since
	}
	first := ErrorHour(from) // its end is after from
	last := ErrorHour(now).Add(ErrorBucket)
	var out []time.Time
	for h := first; !h.After(last); h = h.Add(ErrorBucket) {
		out = append(out, h)
	}
	return out
}

// ErrorGroupAcc merges hourly error buckets into ErrorGroupStats. Backends
// feed it every group and other count of the buckets ErrorHours names, in
// any order; Result applies the filter's Kind and Since and sorts.
type ErrorGroupAcc struct {
	f      ErrorGroupFilter
	groups map[[2]string]*ErrorGroupStat
	sample map[[2]string]time.Time // hour the group's sample comes from
	other  map[string]*ErrorGroupStat
}

// NewErrorGroupAcc returns an accumulator for filter f.
func NewErrorGroupAcc(f ErrorGroupFilter) *ErrorGroupAcc {
	return &ErrorGroupAcc{f: f, groups: map[[2]string]*ErrorGroupStat{}, sample: map[[2]string]time.Time{}, other: map[string]*ErrorGroupStat{}}
}

// Add merges one group of queue's bucket of hour.
func (a *ErrorGroupAcc) Add(queue string, hour time.Time, g ErrorGroup) {
	if a.f.Kind != "" && g.Kind != a.f.Kind || g.Count <= 0 {
		return
	}
	if !a.f.Since.IsZero() && g.LastSeen.Before(a.f.Since) {
		return
	}
	k := [2]string{queue, g.Fingerprint}
	s := a.groups[k]
	if s == nil {
		a.groups[k] = &ErrorGroupStat{Queue: queue, ErrorGroup: g}
		a.sample[k] = hour
		return
	}
	s.Count += g.Count
	if g.FirstSeen.Before(s.FirstSeen) {
		s.FirstSeen = g.FirstSeen
	}
	if g.LastSeen.After(s.LastSeen) {
		s.LastSeen = g.LastSeen
	}
	if hour.After(a.sample[k]) {
		a.sample[k] = hour
		s.Kind, s.Class, s.Message, s.JobID = g.Kind, g.Class, g.Message, g.JobID
	}
}

// AddOther merges the other count of queue's bucket of hour.
func (a *ErrorGroupAcc) AddOther(queue string, hour time.Time, n int64) {
	if a.f.Kind != "" || n <= 0 {
		return
	}
	s := a.other[queue]
	if s == nil {
		s = &ErrorGroupStat{Queue: queue, Other: true, ErrorGroup: ErrorGroup{FirstSeen: hour, LastSeen: hour.Add(ErrorBucket)}}
		a.other[queue] = s
	} else {
		if hour.Before(s.FirstSeen) {
			s.FirstSeen = hour
		}
		if end := hour.Add(ErrorBucket); end.After(s.LastSeen) {
			s.LastSeen = end
		}
	}
	s.Count += n
}

// Result returns the merged groups, sorted and limited (SortErrorGroups).
func (a *ErrorGroupAcc) Result() []ErrorGroupStat {
	out := make([]ErrorGroupStat, 0, len(a.groups)+len(a.other))
	for _, s := range a.groups {
		out = append(out, *s)
	}
	for _, s := range a.other {
		out = append(out, *s)
	}
	return SortErrorGroups(out, a.f.Limit)
}
