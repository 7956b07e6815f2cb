package metrics

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/joblot/joblot/backend"
)

// outcomes are the job outcomes counted by joblot_jobs_total; their series
// are created together, at zero, the first time a (kind, queue) pair is
// seen, so rate() and ratios work from the first job on.
var outcomes = []backend.Outcome{
	backend.OutcomeSucceeded,
	backend.OutcomeRetry,
	backend.OutcomeDead,
	backend.OutcomeDiscarded,
	backend.OutcomeRequeue,
	backend.OutcomeCancelled,
}

// jobMetrics are the per-process job counters and histograms fed by
// JobDone.
type jobMetrics struct {
	outcomes  *prometheus.CounterVec
	durations *prometheus.HistogramVec

	maxSeries int
	// series caches the children of each (kind, queue) pair, so the hot
	// path is one sync.Map load instead of hashing label values per job.
	series sync.Map // seriesKey -> *jobSeries
	mu     sync.Mutex
	count  int // pairs in series, under mu
}

type seriesKey struct{ kind, queue string }

// jobSeries are one (kind, queue) pair's children, indexed by Outcome.
type jobSeries struct {
	outcomes [backend.OutcomeCancelled + 1]prometheus.Counter
	duration prometheus.Observer
}

func newJobMetrics(maxSeries int, buckets []float64) *jobMetrics {
	return &jobMetrics{
		maxSeries: maxSeries,
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "joblot_jobs_total",
			Help: "Jobs finished by this process, by kind, queue and outcome " +
				"(succeeded, retry, dead, discarded, requeue, cancelled).",
		}, []string{"kind", "queue", "outcome"}),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "joblot_job_duration_seconds",
			Help: "How long job attempts ran in this process, by kind and queue " +
				"(attempts that succeeded, failed, died or were discarded; not requeued or cancelled jobs).",
			Buckets: buckets,
		}, []string{"kind", "queue"}),
	}
}

// JobDone counts one finished job. It implements joblot.JobObserver: pass
// the Collector as ServerConfig.Observer.
func (c *Collector) JobDone(kind, queue string, outcome backend.Outcome, d time.Duration) {
	c.jobs.done(kind, queue, outcome, d)
}

func (m *jobMetrics) done(kind, queue string, outcome backend.Outcome, d time.Duration) {
	s := m.get(kind, queue)
	if int(outcome) < len(s.outcomes) && s.outcomes[outcome] != nil {
		s.outcomes[outcome].Inc()
	}
	switch outcome {
	case backend.OutcomeSucceeded, backend.OutcomeRetry, backend.OutcomeDead, backend.OutcomeDiscarded:
		s.duration.Observe(d.Seconds())
	}
}

// get returns the series of (kind, queue), creating them on first sight, or
// the overflow series once maxSeries pairs exist.
func (m *jobMetrics) get(kind, queue string) *jobSeries {
	key := seriesKey{kind, queue}
	if s, ok := m.series.Load(key); ok {
		return s.(*jobSeries)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.series.Load(key); ok {
		return s.(*jobSeries)
	}
	if m.count >= m.maxSeries {
		key = seriesKey{OverflowLabel, OverflowLabel}
		if s, ok := m.series.Load(key); ok {
			return s.(*jobSeries)
		}
	}
	s := &jobSeries{duration: m.durations.WithLabelValues(key.kind, key.queue)}
	for _, o := range outcomes {
		s.outcomes[o] = m.outcomes.WithLabelValues(key.kind, key.queue, o.String())
	}
	m.series.Store(key, s)
	if key.kind != OverflowLabel || key.queue != OverflowLabel {
		m.count++
	}
	return s
}
