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
	backend.OutcomeSnoozed,
}

// jobMetrics are the per-process job counters and histograms fed by
// JobDone.
type jobMetrics struct {
	outcomes  *prometheus.CounterVec
	durations *prometheus.HistogramVec

	// series caches the children of each (kind, queue) pair, so the hot
	// path is one sync.Map load instead of hashing label values per job.
	// Its keys are sanitised labels (see labelValue), so a job's strings,
	// however long, are not what it keeps in memory; a clean pair, the
	// usual case, is its own sanitised form and is found without work.
	series sync.Map // seriesKey -> *jobSeries
	mu     sync.Mutex
	cap    *labelCap[seriesKey] // under mu
	// discard counts nothing anyone reads; see discardObserver.
	discard prometheus.Counter
}

// seriesKey is a (kind, queue) pair of sanitised label values.
type seriesKey struct{ kind, queue string }

// jobSeries are one (kind, queue) pair's children, indexed by Outcome.
type jobSeries struct {
	outcomes [backend.OutcomeSnoozed + 1]prometheus.Counter
	duration prometheus.Observer
}

func newJobMetrics(maxSeries int, buckets []float64) *jobMetrics {
	return &jobMetrics{
		cap:     newLabelCap[seriesKey](maxSeries),
		discard: prometheus.NewCounter(prometheus.CounterOpts{Name: "joblot_unregistered", Help: "Never registered."}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "joblot_jobs_total",
			Help: "Jobs finished by this process, by kind, queue and outcome " +
				"(succeeded, retry, dead, discarded, requeue, cancelled, snoozed).",
		}, []string{"kind", "queue", "outcome"}),
		durations: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "joblot_job_duration_seconds",
			Help: "How long job attempts ran in this process, by kind and queue " +
				"(attempts that succeeded, failed, died, were discarded or snoozed; not requeued or cancelled jobs).",
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
	case backend.OutcomeSucceeded, backend.OutcomeRetry, backend.OutcomeDead, backend.OutcomeDiscarded, backend.OutcomeSnoozed:
		s.duration.Observe(d.Seconds())
	}
}

// get returns the series of (kind, queue), creating them on first sight, or
// the overflow series once the cap's pairs exist. kind and queue come from
// a stored job and may hold anything: they are sanitised first, and no
// label value can make it panic.
func (m *jobMetrics) get(kind, queue string) *jobSeries {
	// A clean pair is its own key: the hot path sanitises nothing.
	if s, ok := m.series.Load(seriesKey{kind, queue}); ok {
		return s.(*jobSeries)
	}
	key := seriesKey{labelValue(kind), labelValue(queue)}
	if s, ok := m.series.Load(key); ok {
		return s.(*jobSeries)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.series.Load(key); ok {
		return s.(*jobSeries)
	}
	if !m.cap.admit(key) {
		key = seriesKey{OverflowLabel, OverflowLabel}
		if s, ok := m.series.Load(key); ok {
			return s.(*jobSeries)
		}
	}
	s := &jobSeries{duration: discardObserver{}}
	if d, err := m.durations.GetMetricWithLabelValues(key.kind, key.queue); err == nil {
		s.duration = d
	}
	for _, o := range outcomes {
		s.outcomes[o] = m.discard
		if c, err := m.outcomes.GetMetricWithLabelValues(key.kind, key.queue, o.String()); err == nil {
			s.outcomes[o] = c
		}
	}
	m.series.Store(key, s)
	return s
}

// discardObserver and jobMetrics.discard stand in for a child the client
// library refused (it cannot, for sanitised labels): no job is ever lost to
// a metric.
type discardObserver struct{}

func (discardObserver) Observe(float64) {}
