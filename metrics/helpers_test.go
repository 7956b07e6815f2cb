package metrics

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/joblot/joblot/backend"
)

// countingBackend counts the calls that read the store, to show that a
// scrape makes none. It embeds a real backend.
type countingBackend struct {
	backend.Backend
	calls atomic.Int64
}

func (c *countingBackend) Stats(ctx context.Context, now time.Time) (*backend.Stats, error) {
	c.calls.Add(1)
	return c.Backend.Stats(ctx, now)
}

func (c *countingBackend) ListBatches(ctx context.Context, o backend.BatchListOptions) ([]*backend.BatchStatus, error) {
	c.calls.Add(1)
	return c.Backend.ListBatches(ctx, o)
}

func (c *countingBackend) BatchStatus(ctx context.Context, id string) (*backend.BatchStatus, error) {
	c.calls.Add(1)
	return c.Backend.BatchStatus(ctx, id)
}

func (c *countingBackend) ListJobs(ctx context.Context, f backend.JobFilter) (*backend.JobPage, error) {
	c.calls.Add(1)
	return c.Backend.ListJobs(ctx, f)
}

// countingReporter adds a counted Memory to a countingBackend whose backend
// reports memory.
type countingReporter struct {
	*countingBackend
}

func (c countingReporter) Memory(ctx context.Context) (backend.MemoryInfo, error) {
	c.calls.Add(1)
	return c.Backend.(backend.MemoryReporter).Memory(ctx)
}

// wrap returns b wrapped for counting, keeping MemoryReporter if b has it.
func wrap(b backend.Backend) (backend.Backend, *countingBackend) {
	cb := &countingBackend{Backend: b}
	if _, ok := b.(backend.MemoryReporter); ok {
		return countingReporter{cb}, cb
	}
	return cb, cb
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newTestCollector returns a collector on its own registry.
func newTestCollector(b backend.Backend, opts Options) (*Collector, *prometheus.Registry) {
	reg := prometheus.NewRegistry()
	opts.Registerer = reg
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	return New(b, opts), reg
}

// sample is one gathered series.
type sample struct {
	labels map[string]string
	value  float64 // gauge or counter value, or histogram sample count
	sum    float64 // histogram sum
}

// gather returns the series of metric name, or nil if absent.
func gather(t *testing.T, g prometheus.Gatherer, name string) []sample {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		var out []sample
		for _, m := range mf.GetMetric() {
			s := sample{labels: map[string]string{}}
			for _, l := range m.GetLabel() {
				s.labels[l.GetName()] = l.GetValue()
			}
			s.value, s.sum = value(m)
			out = append(out, s)
		}
		return out
	}
	return nil
}

func value(m *dto.Metric) (v, sum float64) {
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue(), 0
	case m.Counter != nil:
		return m.Counter.GetValue(), 0
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount()), m.Histogram.GetSampleSum()
	}
	return 0, 0
}

// find returns the series of name with exactly the given label pairs
// (k1, v1, k2, v2, ...), failing the test if it is absent.
func find(t *testing.T, g prometheus.Gatherer, name string, kv ...string) sample {
	t.Helper()
	s, ok := lookup(t, g, name, kv...)
	if !ok {
		t.Fatalf("no series %s%v; have %v", name, kv, describe(gather(t, g, name)))
	}
	return s
}

func lookup(t *testing.T, g prometheus.Gatherer, name string, kv ...string) (sample, bool) {
	t.Helper()
next:
	for _, s := range gather(t, g, name) {
		if len(s.labels) != len(kv)/2 {
			continue
		}
		for i := 0; i < len(kv); i += 2 {
			if s.labels[kv[i]] != kv[i+1] {
				continue next
			}
		}
		return s, true
	}
	return sample{}, false
}

func describe(ss []sample) string {
	var parts []string
	for _, s := range ss {
		var ls []string
		for k, v := range s.labels {
			ls = append(ls, k+"="+v)
		}
		sort.Strings(ls)
		parts = append(parts, "{"+strings.Join(ls, ",")+"}")
	}
	return strings.Join(parts, " ")
}

// scrape fetches the handler's output.
func scrape(t *testing.T, c *Collector) string {
	t.Helper()
	rec := httptest.NewRecorder()
	c.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("scrape: status %d: %s", rec.Code, rec.Body)
	}
	return rec.Body.String()
}
