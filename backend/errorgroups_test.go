package backend

import (
	"testing"
	"time"
)

// A group's fingerprint finds its failed jobs even when they carry no
// fingerprint of their own (the group is then their fallback), and never
// a job that has not failed.
func TestJobFilterMatchesTheGroupOfAJobWithoutFingerprint(t *testing.T) {
	failed := &Job{Kind: "Ping", ErrorClass: "*app.Err", ErrorMessage: "odd"}
	own := &Job{Kind: "Ping", ErrorClass: "*app.Err", ErrorFingerprint: "2:abc"}
	fresh := &Job{Kind: "Ping"}
	for _, c := range []struct {
		j    *Job
		fp   string
		want bool
	}{
		{failed, "Ping|*app.Err", true},
		{failed, "2:abc", false},
		{own, "2:abc", true},
		{own, "Ping|*app.Err", false},
		{fresh, "Ping|", false},
	} {
		f := JobFilter{ErrorFingerprint: c.fp}
		if got := f.Matches(c.j); got != c.want {
			t.Errorf("Matches(%+v, fingerprint %q) = %v, want %v", c.j, c.fp, got, c.want)
		}
	}
}

func TestErrorHours(t *testing.T) {
	now := time.Date(2030, 1, 3, 10, 30, 0, 0, time.UTC)
	hs := ErrorHours(now, time.Time{}, 48*time.Hour)
	// From the hour holding now−48h (its end is after it) to the one after now's.
	if first, last := hs[0], hs[len(hs)-1]; !first.Equal(time.Date(2030, 1, 1, 10, 0, 0, 0, time.UTC)) || !last.Equal(time.Date(2030, 1, 3, 11, 0, 0, 0, time.UTC)) || len(hs) != 50 {
		t.Fatalf("ErrorHours = %d hours %v..%v", len(hs), hs[0], hs[len(hs)-1])
	}
	hs = ErrorHours(now, now.Add(-90*time.Minute), 48*time.Hour)
	if len(hs) != 3 || !hs[0].Equal(time.Date(2030, 1, 3, 9, 0, 0, 0, time.UTC)) {
		t.Fatalf("ErrorHours since 09:00 = %v", hs)
	}
	if hs := ErrorHours(now, now.Add(3*time.Hour), 48*time.Hour); len(hs) != 0 {
		t.Fatalf("ErrorHours since a later time = %v, want none", hs)
	}
}

// Buckets of several hours merge per queue and fingerprint: counts add up,
// first and last seen span them, the sample is the latest bucket's.
func TestErrorGroupAccMergesHours(t *testing.T) {
	h1 := time.Date(2030, 1, 1, 10, 0, 0, 0, time.UTC)
	h2 := h1.Add(time.Hour)
	acc := NewErrorGroupAcc(ErrorGroupFilter{})
	acc.Add("q", h2, ErrorGroup{Fingerprint: "a", Kind: "K", JobID: "late", Count: 2, FirstSeen: h2.Add(time.Minute), LastSeen: h2.Add(2 * time.Minute)})
	acc.Add("q", h1, ErrorGroup{Fingerprint: "a", Kind: "K", JobID: "early", Count: 3, FirstSeen: h1.Add(time.Minute), LastSeen: h1.Add(50 * time.Minute)})
	acc.Add("r", h1, ErrorGroup{Fingerprint: "a", Kind: "K", JobID: "other-queue", Count: 1, FirstSeen: h1, LastSeen: h1})
	acc.AddOther("q", h1, 4)
	acc.AddOther("q", h2, 1)
	gs := acc.Result()
	if len(gs) != 3 {
		t.Fatalf("Result = %+v", gs)
	}
	if g := gs[0]; g.Queue != "q" || g.Count != 5 || g.JobID != "late" || !g.FirstSeen.Equal(h1.Add(time.Minute)) || !g.LastSeen.Equal(h2.Add(2*time.Minute)) {
		t.Fatalf("merged group = %+v", g)
	}
	if g := gs[2]; !g.Other || g.Count != 5 || !g.FirstSeen.Equal(h1) || !g.LastSeen.Equal(h2.Add(time.Hour)) {
		t.Fatalf("other row = %+v", g)
	}
	// Since drops a bucket whose group was last seen before it; a kind
	// filter drops the other rows.
	acc = NewErrorGroupAcc(ErrorGroupFilter{Since: h1.Add(55 * time.Minute), Kind: "K"})
	acc.Add("q", h1, ErrorGroup{Fingerprint: "a", Kind: "K", Count: 3, FirstSeen: h1, LastSeen: h1.Add(50 * time.Minute)})
	acc.Add("q", h2, ErrorGroup{Fingerprint: "a", Kind: "K", Count: 2, FirstSeen: h2, LastSeen: h2})
	acc.AddOther("q", h2, 7)
	if gs := acc.Result(); len(gs) != 1 || gs[0].Count != 2 {
		t.Fatalf("Result(since, kind) = %+v", gs)
	}
}

// The limit cuts groups, never the other rows after them.
func TestSortErrorGroupsLimit(t *testing.T) {
	gs := SortErrorGroups([]ErrorGroupStat{
		{Queue: "b", Other: true, ErrorGroup: ErrorGroup{Count: 100}},
		{Queue: "a", ErrorGroup: ErrorGroup{Fingerprint: "x", Count: 1}},
		{Queue: "a", ErrorGroup: ErrorGroup{Fingerprint: "y", Count: 3}},
		{Queue: "a", ErrorGroup: ErrorGroup{Fingerprint: "z", Count: 2}},
		{Queue: "a", Other: true, ErrorGroup: ErrorGroup{Count: 9}},
	}, 2)
	var got []string
	for _, g := range gs {
		got = append(got, g.Queue+"/"+g.Fingerprint)
	}
	if want := []string{"a/y", "a/z", "a/", "b/"}; len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || got[3] != want[3] {
		t.Fatalf("SortErrorGroups = %v, want %v", got, want)
	}
}
