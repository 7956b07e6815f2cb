package memreport

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/joblot/joblot/internal/rediskeys"
	"github.com/joblot/joblot/internal/redistest"
)

// exactTolerance is how far an exact report's family bytes may be from the
// test's own key-by-key MEMORY USAGE sum. The database is idle during the
// test, so the two should agree to the byte; the slack only absorbs a
// value dict that would rehash in between.
const exactTolerance = 0.001

func TestExactReportAttributesEveryFamily(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv)
	m := fillMix(t, c)
	wantKeys, wantBytes := m.truth(t, c)

	var calls, lastScanned, lastTotal int64
	r, err := Report(context.Background(), c, Options{Progress: func(s, total int64) {
		calls++
		lastScanned, lastTotal = s, total
	}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Sampled {
		t.Fatal("report is sampled without Sample")
	}
	if r.DBSize != int64(len(m.family)) || r.Scanned != r.DBSize || r.Measured != r.DBSize {
		t.Fatalf("dbsize %d scanned %d measured %d, want %d", r.DBSize, r.Scanned, r.Measured, len(m.family))
	}
	if calls == 0 || lastScanned != r.DBSize || lastTotal != r.DBSize {
		t.Fatalf("progress: %d calls, last %d/%d", calls, lastScanned, lastTotal)
	}
	var sum int64
	for _, fr := range r.Families {
		if fr.Keys != wantKeys[fr.Family] {
			t.Errorf("%s: %d keys, want %d", fr.Family, fr.Keys, wantKeys[fr.Family])
		}
		if d := math.Abs(float64(fr.Bytes - wantBytes[fr.Family])); d > exactTolerance*float64(wantBytes[fr.Family]) {
			t.Errorf("%s: %d bytes, want %d ± %.1f%%", fr.Family, fr.Bytes, wantBytes[fr.Family], 100*exactTolerance)
		}
		if fr.BytesError != 0 {
			t.Errorf("%s: exact report states an error of %d", fr.Family, fr.BytesError)
		}
		if wantKeys[fr.Family] > 0 && len(fr.Top) == 0 {
			t.Errorf("%s: no biggest keys", fr.Family)
		}
		for i := 1; i < len(fr.Top); i++ {
			if fr.Top[i].Bytes > fr.Top[i-1].Bytes {
				t.Errorf("%s: top keys not biggest first: %v", fr.Family, fr.Top)
			}
		}
		for _, k := range fr.Top {
			if m.family[k.Key] != fr.Family {
				t.Errorf("%s lists %q, which belongs to %s", fr.Family, k.Key, m.family[k.Key])
			}
		}
		sum += fr.Bytes
	}
	if len(wantKeys) != 22 {
		t.Fatalf("the mix covers %d families, want all 22", len(wantKeys))
	}
	if sum != r.KeyBytes || r.Unattributed != r.UsedMemory-r.KeyBytes || r.Unattributed <= 0 {
		t.Fatalf("key bytes %d (sum %d), used %d, unattributed %d", r.KeyBytes, sum, r.UsedMemory, r.Unattributed)
	}
	fi, _ := r.Lookup(SidekiqBatchFailinfo)
	if fi.Share < 0.3 {
		t.Errorf("failinfo share %.2f: the incident's family should dominate this mix", fi.Share)
	}
	t.Logf("exact: %d keys, used_memory %d, keys %d, unattributed %d, failinfo %d keys %d B (%.1f%%), in %v",
		r.DBSize, r.UsedMemory, r.KeyBytes, r.Unattributed, fi.Keys, fi.Bytes, 100*fi.Share, r.Elapsed)

	var out bytes.Buffer
	if err := Format(&out, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"sidekiq-batch-failinfo (legacy)", "b-<bid>-failinfo", "unattributed", "BIGGEST KEYS", "myapp:session:"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("Format output lacks %q:\n%s", want, out.String())
		}
	}
	t.Logf("\n%s", out.String())

	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	var back Result
	if err := json.Unmarshal(js, &back); err != nil || back.KeyBytes != r.KeyBytes || len(back.Families) != len(r.Families) {
		t.Fatalf("JSON round trip: %v", err)
	}
	if !strings.Contains(string(js), `"family":"sidekiq-batch-failinfo"`) {
		t.Fatalf("JSON lacks family ids: %.300s", js)
	}
}

// z999 is the two-sided 99.9% normal quantile. With a fixed seed the
// sampled test is deterministic, but a 95% bound misses its truth one time
// in twenty, so a test holding several families to their 95% bound passes
// for only ~3 seeds in 4: one would have to pick a lucky seed. Instead this
// test holds every family to the same interval widened to 99.9%, and
// TestSampledBoundsCoverage checks over 40 seeds that the stated 95%
// bounds miss about 5% of the time, as they claim.
const z999 = 3.2905267314919255

func TestSampledReportWithinItsBound(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv)
	m := fillMix(t, c)
	wantKeys, wantBytes := m.truth(t, c)
	var wantTotal int64
	for _, b := range wantBytes {
		wantTotal += b
	}

	const sample = 800
	r, err := Report(context.Background(), c, Options{Sample: sample, Seed: 42, Pause: -1})
	if err != nil {
		t.Fatal(err)
	}
	if !r.Sampled || r.Seed != 42 || r.Confidence != 0.95 {
		t.Fatalf("sampled %v seed %d confidence %v", r.Sampled, r.Seed, r.Confidence)
	}
	if r.Measured >= r.DBSize/2 {
		t.Fatalf("measured %d of %d keys: not a sample", r.Measured, r.DBSize)
	}
	estimated := 0
	for _, fr := range r.Families {
		if fr.Keys != wantKeys[fr.Family] {
			t.Errorf("%s: %d keys, want exactly %d", fr.Family, fr.Keys, wantKeys[fr.Family])
		}
		diff := math.Abs(float64(fr.Bytes - wantBytes[fr.Family]))
		if fr.Measured < fr.Keys {
			estimated++
		} else if diff > 1 {
			t.Errorf("%s: every key measured, yet %d bytes, want %d", fr.Family, fr.Bytes, wantBytes[fr.Family])
		}
		// A bound of 0 is right when every measured key had the same
		// size (the failed sets here): the estimate is then exact.
		if diff > z999/z95*float64(fr.BytesError)+1 {
			t.Errorf("%s: estimate %d ± %d, true %d (off by %.0f, %d of %d keys measured)",
				fr.Family, fr.Bytes, fr.BytesError, wantBytes[fr.Family], diff, fr.Measured, fr.Keys)
		}
		t.Logf("%-24s keys %5d measured %4d est %9d ± %7d true %9d (off %.2f%%)", fr.Family, fr.Keys, fr.Measured,
			fr.Bytes, fr.BytesError, wantBytes[fr.Family], 100*diff/math.Max(1, float64(wantBytes[fr.Family])))
	}
	if estimated < 3 {
		t.Fatalf("only %d families were estimated: the test does not exercise sampling", estimated)
	}
	if d := math.Abs(float64(r.KeyBytes - wantTotal)); d > z999/z95*float64(r.KeyBytesError) {
		t.Errorf("total estimate %d ± %d, true %d", r.KeyBytes, r.KeyBytesError, wantTotal)
	}
	t.Logf("sampled: measured %d of %d keys, total %d ± %d (true %d) in %v", r.Measured, r.DBSize, r.KeyBytes, r.KeyBytesError, wantTotal, r.Elapsed)

	again, err := Report(context.Background(), c, Options{Sample: sample, Seed: 42, Pause: -1})
	if err != nil {
		t.Fatal(err)
	}
	if again.KeyBytes != r.KeyBytes {
		t.Fatalf("same seed, different estimate: %d then %d", r.KeyBytes, again.KeyBytes)
	}
}

// TestSampledBoundsCoverage runs the estimator over many seeds and checks
// that the stated 95% bounds cover the truth about as often as they claim.
func TestSampledBoundsCoverage(t *testing.T) {
	if testing.Short() {
		t.Skip("many reports")
	}
	srv := redistest.Start(t)
	c := newClient(t, srv)
	m := fillMix(t, c)
	_, wantBytes := m.truth(t, c)
	intervals, misses := 0, 0
	for seed := uint64(1); seed <= 40; seed++ {
		r, err := Report(context.Background(), c, Options{Sample: 800, Seed: seed, Pause: -1, TopKeys: -1})
		if err != nil {
			t.Fatal(err)
		}
		for _, fr := range r.Families {
			if fr.Measured == fr.Keys {
				continue
			}
			intervals++
			if math.Abs(float64(fr.Bytes-wantBytes[fr.Family])) > float64(fr.BytesError) {
				misses++
			}
		}
	}
	rate := float64(misses) / float64(intervals)
	t.Logf("coverage over 40 seeds: %d of %d intervals missed (%.1f%%, nominal 5%%)", misses, intervals, 100*rate)
	if intervals < 100 || rate > 0.12 {
		t.Fatalf("%d of %d 95%% intervals missed the truth", misses, intervals)
	}
}

func TestClassify(t *testing.T) {
	cases := []struct {
		key  string
		fam  Family
		want string
	}{
		{"{jl:q:default}:jobs", Queues, ""},
		{"{jl:q:a:b}:wip:proc-1", InFlight, ""},
		{"{jl:q:x}:day:2025-01-01", Stats, ""},
		{"{jl:q:x}:once:abc", JoblotOther, ""},
		{"{jl:q:x}:errs:2025010112", QueueErrors, ""},
		{"{jl:q:x}:min:07", Throughput, ""},
		{"{jl:q:broken", JoblotOther, ""},
		{"{jl:b:01H}:errs", BatchErrors, ""},
		{"{jl:b:01H}:bits", BatchState, ""},
		{"jl:batches", BatchState, ""},
		{"jl:proc:p1", Processes, ""},
		{"{jl:out}:data", JobOutput, ""},
		{"{jl:out}x", JoblotOther, ""},
		{"jl:cleanup:x", JoblotOther, ""},
		{"b-Xy3_-abc-failinfo", SidekiqBatchFailinfo, "hash"},
		{"b-abc-jids", SidekiqBatchJids, "set"},
		{"b-abc", SidekiqBatch, "hash"},
		{"b-123-failinfo-backup", SidekiqBatch, "hash"},
		{"b-a:b", Other, ""},
		{"queue:default", SidekiqQueues, ""},
		{"stat:processed", SidekiqStats, ""},
		{"retry", SidekiqRetry, ""},
		{"retry:x", Other, ""},
		{"myapp:x", Other, ""},
	}
	for _, tc := range cases {
		f, w := Classify(rediskeys.Layout{}, tc.key)
		if f != tc.fam || w != tc.want {
			t.Errorf("Classify(%q) = %s, %q; want %s, %q", tc.key, f, w, tc.fam, tc.want)
		}
	}
}
