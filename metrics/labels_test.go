package metrics

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/bolt"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/redistest"
)

func TestLabelValue(t *testing.T) {
	long := strings.Repeat("é", 200) // 400 bytes
	for _, c := range []struct{ in, want string }{
		{"default", "default"},
		{"emails.send-v2", "emails.send-v2"},
		{"日本語", "日本語"},
		{"\xff\xfe", `\xff\xfe`},
		{"q\xff", `q\xff`},
		{"a\x1b[2Jb", `a\x1b[2Jb`},
		{"line\nbreak\t", `line\x0abreak\x09`},
		{"c1\u0085", `c1\x85`},
		{"bidi\u202eevil", `bidi\u202eevil`},
		{"rtl\u200fmark\u061c", `rtl\u200fmark\u061c`},
		{"", ""},
	} {
		if got := labelValue(c.in); got != c.want {
			t.Errorf("labelValue(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	for _, in := range []string{long, strings.Repeat("\xff", 1000), strings.Repeat("x", maxLabelBytes+1), long + "\x00"} {
		got := labelValue(in)
		if len(got) > maxLabelBytes || !utf8.ValidString(got) || !strings.Contains(got, "~") {
			t.Errorf("labelValue(%d bytes) = %q (%d bytes): want valid UTF-8, cut and tagged, at most %d bytes", len(in), got, len(got), maxLabelBytes)
		}
	}
	if labelValue(long+"a") == labelValue(long+"b") {
		t.Error("two long names that differ after the cut got the same label")
	}
	if got := labelValue(strings.Repeat("x", maxLabelBytes)); got != strings.Repeat("x", maxLabelBytes) {
		t.Errorf("a clean name of exactly %d bytes was changed to %q", maxLabelBytes, got)
	}
}

// A job's kind and queue come from its payload: whatever bytes they hold,
// observing the job must not panic (the observer runs outside the job's
// recover, so a panic kills the worker process) and scrapes must work.
func TestJobDoneWithInvalidLabels(t *testing.T) {
	c, reg := newTestCollector(nil, Options{})
	huge := strings.Repeat("k", 1<<20)
	for _, kind := range []string{"\xff\xfe", "ctl\x1b[31m", huge} {
		c.JobDone(kind, "q\xff", backend.OutcomeDead, time.Millisecond)
	}
	c.JobDone("\xff\xfe", "q\xff", backend.OutcomeSucceeded, time.Millisecond)

	if got := find(t, reg, "joblot_jobs_total", "kind", `\xff\xfe`, "queue", `q\xff`, "outcome", "dead").value; got != 1 {
		t.Errorf("dead jobs of the invalid kind = %v, want 1", got)
	}
	if got := find(t, reg, "joblot_jobs_total", "kind", `\xff\xfe`, "queue", `q\xff`, "outcome", "succeeded").value; got != 1 {
		t.Errorf("succeeded jobs of the invalid kind = %v, want 1", got)
	}
	find(t, reg, "joblot_jobs_total", "kind", `ctl\x1b[31m`, "queue", `q\xff`, "outcome", "dead")
	for _, s := range gather(t, reg, "joblot_jobs_total") {
		if k := s.labels["kind"]; len(k) > maxLabelBytes {
			t.Errorf("a kind label of %d bytes", len(k))
		}
	}
	body := scrape(t, c)
	if strings.Contains(body, "\x1b") {
		t.Error("the exposition carries a raw escape character")
	}
}

// storeOpeners open an empty store of each backend.
var storeOpeners = map[string]func(t *testing.T) backend.Backend{
	"bolt": func(t *testing.T) backend.Backend {
		b, err := bolt.Open(filepath.Join(t.TempDir(), "joblot.db"), bolt.Options{NoSync: true, Logger: quietLogger()})
		if err != nil {
			t.Fatalf("bolt.Open: %v", err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	},
	"redis": func(t *testing.T) backend.Backend {
		b, err := redis.Open(context.Background(), redis.Options{URL: redistest.Start(t).URL, Logger: quietLogger()})
		if err != nil {
			t.Fatalf("redis.Open: %v", err)
		}
		t.Cleanup(func() { b.Close() })
		return b
	},
}

// A queue name is stored data too: one that is not valid UTF-8 must not
// blank the whole scrape.
func TestScrapeWithInvalidQueueName(t *testing.T) {
	for name, open := range storeOpeners {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			b := open(t)
			// `q\xff` spelt with a backslash sanitises like "q\xff": the two
			// must be summed, not reported twice.
			if _, err := b.Enqueue(ctx, []*backend.Job{job("q\xff"), job("q\xff"), job(`q\xff`), job("ok")}); err != nil {
				t.Fatal(err)
			}
			c, reg := newTestCollector(b, Options{})
			if err := c.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(c.Handler())
			defer srv.Close()
			resp, err := http.Get(srv.URL)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("scrape answered %d", resp.StatusCode)
			}
			if got := find(t, reg, "joblot_queue_jobs", "queue", `q\xff`, "set", "queued").value; got != 3 {
				t.Errorf("queued under the sanitised label = %v, want 3", got)
			}
			if got := find(t, reg, "joblot_queue_jobs", "queue", "ok", "set", "queued").value; got != 1 {
				t.Errorf("queued in ok = %v, want 1", got)
			}
		})
	}
}

// 5,000 queues must not make 35,000 series: past MaxQueues they are summed
// under OverflowLabel, and the gauge says how many were folded.
func TestQueueSeriesAreCapped(t *testing.T) {
	const queues = 5000
	ctx := context.Background()
	b := storeOpeners["bolt"](t)
	jobs := make([]*backend.Job, queues)
	for i := range jobs {
		jobs[i] = job(fmt.Sprintf("q%05d", i))
	}
	if _, err := b.Enqueue(ctx, jobs); err != nil {
		t.Fatal(err)
	}
	c, reg := newTestCollector(b, Options{})
	if err := c.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"joblot_queue_jobs", "joblot_queue_latency_seconds", "joblot_queue_paused"} {
		labels := map[string]bool{}
		for _, s := range gather(t, reg, name) {
			labels[s.labels["queue"]] = true
		}
		if len(labels) > DefaultMaxQueues+1 || !labels[OverflowLabel] {
			t.Errorf("%s: %d queue labels (overflow present: %v), want at most %d with the overflow", name, len(labels), labels[OverflowLabel], DefaultMaxQueues+1)
		}
	}
	if n := len(gather(t, reg, "joblot_queue_jobs")); n > 5*(DefaultMaxQueues+1) {
		t.Errorf("joblot_queue_jobs has %d series", n)
	}
	if got := find(t, reg, "joblot_queue_jobs", "queue", OverflowLabel, "set", "queued").value; got != queues-DefaultMaxQueues {
		t.Errorf("queued under the overflow = %v, want %d", got, queues-DefaultMaxQueues)
	}
	if got := find(t, reg, "joblot_metrics_queues_overflowed").value; got != queues-DefaultMaxQueues {
		t.Errorf("queues overflowed = %v, want %d", got, queues-DefaultMaxQueues)
	}
	var total float64
	for _, s := range gather(t, reg, "joblot_queue_jobs") {
		total += s.value
	}
	if total != queues {
		t.Errorf("jobs over all queue series = %v, want %d (nothing lost to the cap)", total, queues)
	}
}

// Queues keep their series across refreshes; a queue that is gone frees its
// place, which goes to the biggest new queue.
func TestQueueCapKeepsAndFreesPlaces(t *testing.T) {
	s := newStoreMetrics(10, 2)
	labels := func(qs ...backend.QueueStats) map[string]queueSample {
		s.setStats(&backend.Stats{Queues: qs})
		out := map[string]queueSample{}
		for _, q := range s.queues {
			out[q.label] = q
		}
		return out
	}
	q := func(name string, size int64, paused bool) backend.QueueStats {
		return backend.QueueStats{Name: name, Size: size, Latency: time.Duration(size) * time.Second, Paused: paused}
	}
	got := labels(q("a", 1, true), q("b", 3, false), q("c", 2, true))
	if _, ok := got["a"]; ok || got["b"].size != 3 || got["c"].size != 2 || got[OverflowLabel].size != 1 || got[OverflowLabel].paused != 1 {
		t.Fatalf("first refresh: %+v, want b and c (the biggest) and a folded", got)
	}
	got = labels(q("a", 9, false), q("b", 3, false), q("c", 2, false), q("d", 5, true))
	if _, ok := got["a"]; ok || got["b"].size != 3 || got["c"].size != 2 || got[OverflowLabel].size != 14 ||
		got[OverflowLabel].latency != 9*time.Second || got[OverflowLabel].paused != 1 || s.overflowed != 2 {
		t.Fatalf("second refresh: %+v (%d overflowed), want b and c kept, a and d summed", got, s.overflowed)
	}
	got = labels(q("a", 9, false), q("b", 3, false), q("d", 5, false))
	if _, ok := got["d"]; ok || got["a"].size != 9 || got["b"].size != 3 || got[OverflowLabel].size != 5 {
		t.Fatalf("after c is gone: %+v, want its place to a (the biggest new queue)", got)
	}
}
