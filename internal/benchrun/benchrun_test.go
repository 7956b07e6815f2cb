package benchrun

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/joblot/joblot"
)

func TestBitmapConcurrentSetsCountOnce(t *testing.T) {
	b := NewBitmap(1000)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := int64(0); n < 1000; n += 2 {
				b.Set(n)
			}
		}()
	}
	wg.Wait()
	if got := b.Count(); got != 500 {
		t.Fatalf("Count = %d, want 500", got)
	}
	if b.Set(-1) || b.Set(1000) || b.Has(1000) {
		t.Errorf("out-of-range numbers must be ignored")
	}
	if !b.Has(998) || b.Has(999) {
		t.Errorf("Has is wrong")
	}
	o := NewBitmap(1000)
	o.Set(1)
	o.Set(2)
	if got := CountUnion(b, o); got != 501 {
		t.Errorf("CountUnion = %d, want 501", got)
	}
}

func TestFailsIsDeterministicAndNearTheRate(t *testing.T) {
	const jobs = 100_000
	for _, rate := range []float64{0, 0.1, 0.3, 1} {
		got := CountFailing(jobs, rate)
		if d := float64(got)/jobs - rate; d > 0.01 || d < -0.01 {
			t.Errorf("rate %v: %d of %d fail", rate, got, jobs)
		}
		if got != CountFailing(jobs, rate) {
			t.Errorf("rate %v: not deterministic", rate)
		}
	}
	// Spread: each tenth of the jobs has about its share of failures.
	for part := int64(0); part < 10; part++ {
		var n int64
		for i := part * 10_000; i < (part+1)*10_000; i++ {
			if Fails(i, 0.3) {
				n++
			}
		}
		if n < 2700 || n > 3300 {
			t.Errorf("jobs %d..: %d of 10000 fail at rate 0.3", part*10_000, n)
		}
	}
}

func TestRecorderPercentiles(t *testing.T) {
	r := NewRecorder(100)
	for i := 100; i >= 1; i-- {
		r.Record(time.Duration(i) * time.Millisecond)
	}
	p := r.Percentiles(50, 99, 100)
	if p[0] != 50 || p[1] != 99 || p[2] != 100 {
		t.Errorf("percentiles = %v, want [50 99 100]", p)
	}
	r.Record(time.Hour) // beyond capacity: counted, not kept
	if r.Count() != 101 || r.Percentiles(100)[0] != 100 {
		t.Errorf("overflow handling wrong: count %d p100 %v", r.Count(), r.Percentiles(100))
	}
	if got := NewRecorder(10).Percentiles(50); got[0] != 0 {
		t.Errorf("empty recorder: %v", got)
	}
}

func TestRetriesFromFlag(t *testing.T) {
	for _, tc := range []struct {
		given   bool
		n, want int
		err     bool
	}{
		{given: false, n: 0, want: 0},
		{given: true, n: 0, want: joblot.NoRetries},
		{given: true, n: 3, want: 3},
		{given: true, n: -2, err: true},
	} {
		got, err := RetriesFromFlag(tc.given, tc.n)
		if (err != nil) != tc.err || (!tc.err && got != tc.want) {
			t.Errorf("RetriesFromFlag(%v, %d) = %d, %v; want %d, error %v", tc.given, tc.n, got, err, tc.want, tc.err)
		}
	}
}

func TestConfigRejectsBadInput(t *testing.T) {
	for _, c := range []Config{
		{Jobs: 0},
		{Jobs: 1, FailRate: -0.1},
		{Jobs: 1, FailRate: 1.1},
		{Jobs: 1, BatchSize: -1},
		{Jobs: 1, PayloadBytes: -1},
		{Jobs: 1, Concurrency: -1},
		{Jobs: 1, Unique: true, BatchSize: 10},
	} {
		if _, err := c.withDefaults(); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

func TestParseCommandStatsAndIdleDelta(t *testing.T) {
	before, err := ParseCommandStats("# Commandstats\r\ncmdstat_evalsha:calls=10,usec=5,usec_per_call=0.5,rejected_calls=0,failed_calls=0\r\ncmdstat_info:calls=3,usec=1\r\n")
	if err != nil {
		t.Fatal(err)
	}
	after, err := ParseCommandStats("cmdstat_evalsha:calls=30,usec=9\ncmdstat_info:calls=4,usec=2\ncmdstat_client|setinfo:calls=2,usec=1\n")
	if err != nil {
		t.Fatal(err)
	}
	res := idleResult(before, after, 2*time.Second, 1)
	// evalsha +20, client|setinfo +2, info +1 which is the measurement's own.
	if res.Calls != 22 || res.RedisCallsPerSec != 11 {
		t.Errorf("calls %d, per sec %v; want 22, 11", res.Calls, res.RedisCallsPerSec)
	}
	if len(res.Commands) != 2 || res.Commands[0].Command != "evalsha" {
		t.Errorf("commands = %+v", res.Commands)
	}
	if _, err := ParseCommandStats("cmdstat_get:calls=x"); err == nil {
		t.Errorf("garbage accepted")
	}

	// Two nodes of a Cluster, one INFO each per snapshot: counts sum, and
	// both of the first snapshot's INFO calls are the measurement's.
	node := "# Commandstats\r\ncmdstat_evalsha:calls=%d,usec=1\r\ncmdstat_info:calls=%d,usec=1\r\n"
	before, _ = ParseCommandStats(fmt.Sprintf(node, 5, 2) + fmt.Sprintf(node, 7, 2))
	after, _ = ParseCommandStats(fmt.Sprintf(node, 9, 3) + fmt.Sprintf(node, 10, 3))
	if before["evalsha"] != 12 || after["info"] != 6 {
		t.Errorf("two nodes: before %v, after %v", before, after)
	}
	if res := idleResult(before, after, time.Second, 2); res.Calls != 7 || len(res.Commands) != 1 {
		t.Errorf("two nodes: %+v, want 7 evalsha calls and no info", res)
	}
}

func TestFileLedger(t *testing.T) {
	dir := t.TempDir()
	if err := CheckFresh(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(dir); err == nil {
		t.Fatal("Verify without an enqueue record succeeded")
	}
	if err := WriteEnqueued(dir, 10); err != nil {
		t.Fatal(err)
	}
	if err := CheckFresh(dir); err == nil {
		t.Fatal("a ledger with an enqueue record counted as fresh")
	}
	log, err := OpenRanLog(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int64{0, 1, 2, 3, 3, 4, 5, 6, 7} {
		if err := log.Append(n); err != nil {
			t.Fatal(err)
		}
	}
	log.Close()
	// Another worker's log, with a duplicate, a foreign number and a line
	// cut short.
	if err := os.WriteFile(filepath.Join(dir, "ran-1.log"), []byte("7\n42\n1x\n8"), 0o644); err != nil {
		t.Fatal(err)
	}
	v, err := Verify(dir)
	if err != nil {
		t.Fatal(err)
	}
	if v.Enqueued != 10 || v.Ran != 9 || v.Lost != 1 || v.Duplicates != 2 || v.Foreign != 2 || v.Logs != 2 {
		t.Errorf("Verify = %+v; want enqueued 10, ran 9, lost 1, duplicates 2, foreign 2, logs 2", v)
	}
	if len(v.LostSample) != 1 || v.LostSample[0] != 9 {
		t.Errorf("LostSample = %v, want [9]", v.LostSample)
	}
}

// Every shape has its own name, of lower-case letters only (which error
// grouping keeps), and one shape means the one constant error.
func TestErrorShapeNames(t *testing.T) {
	seen := make(map[string]bool, MaxErrorShapes)
	for i := range MaxErrorShapes {
		n := shapeName(i)
		if seen[n] || strings.Trim(n, "abcdefghijklmnopqrstuvwxyz") != "" {
			t.Fatalf("shape %d: name %q repeated or not lower-case letters", i, n)
		}
		seen[n] = true
	}
	if failure(7, 1, 1) != errFailing || failure(7, 1, 100) == errFailing {
		t.Errorf("failure: one shape must be errFailing, more must not")
	}
}
