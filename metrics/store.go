package metrics

import (
	"cmp"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/joblot/joblot/backend"
)

// Descriptions of the store-derived metrics. They are served from the last
// refresh's snapshot by storeMetrics.Collect.
var (
	descQueueJobs = prometheus.NewDesc("joblot_queue_jobs",
		"Jobs in each queue's sets (set: queued, scheduled, retry, dead, in_flight), as of the last refresh "+
			"(queue=\""+OverflowLabel+"\": the queues beyond the series cap, summed).",
		[]string{"queue", "set"}, nil)
	descQueueLatency = prometheus.NewDesc("joblot_queue_latency_seconds",
		"Age of the oldest job waiting in each queue, as of the last refresh "+
			"(queue=\""+OverflowLabel+"\": the oldest among the queues beyond the series cap).",
		[]string{"queue"}, nil)
	descQueuePaused = prometheus.NewDesc("joblot_queue_paused",
		"1 if the queue is paused, else 0, as of the last refresh "+
			"(queue=\""+OverflowLabel+"\": how many of the queues beyond the series cap are paused).",
		[]string{"queue"}, nil)
	descQueueOverflow = prometheus.NewDesc("joblot_metrics_queues_overflowed",
		"Distinct queues whose gauges were folded into queue=\""+OverflowLabel+"\" by the series cap (Options.MaxQueues) at the last refresh.",
		nil, nil)
	descProcessed = prometheus.NewDesc("joblot_store_processed_total",
		"Jobs processed by all processes, as counted by the store.", nil, nil)
	descFailed = prometheus.NewDesc("joblot_store_failed_total",
		"Failed job attempts of all processes, as counted by the store.", nil, nil)
	descDiscarded = prometheus.NewDesc("joblot_store_discarded_total",
		"Jobs discarded by all processes, as counted by the store.", nil, nil)
	descDeadDropped = prometheus.NewDesc("joblot_dead_dropped_total",
		"Dead jobs dropped by the dead set caps (count, age, bytes), as counted by the store.", nil, nil)
	descExpiredBatchEvents = prometheus.NewDesc("joblot_expired_batch_events_total",
		"Job events for batches whose state had already expired or been deleted; they changed nothing.", nil, nil)
	descProcesses = prometheus.NewDesc("joblot_processes",
		"Live server processes (heartbeating), as of the last refresh.", nil, nil)
	descMemoryUsed = prometheus.NewDesc("joblot_store_memory_used_bytes",
		"Memory (Redis used_memory) or disk (embedded file size) the store uses, as of the last refresh.", nil, nil)
	descMemoryLimit = prometheus.NewDesc("joblot_store_memory_limit_bytes",
		"The store's memory limit (Redis maxmemory); absent when it has none.", nil, nil)
	descFamilyBytes = prometheus.NewDesc("joblot_store_family_bytes",
		"Store bytes per key family, measured in the background every few minutes.",
		[]string{"family"}, nil)
	descMemoryLevel = prometheus.NewDesc("joblot_memory_level",
		"The server's memory watchdog level: 0 ok, 1 warning, 2 critical (optional data such as backtraces and error samples is not stored).",
		nil, nil)
	descLastRefresh = prometheus.NewDesc("joblot_metrics_last_refresh_timestamp_seconds",
		"When the store-derived metrics were last refreshed without error (unix seconds).", nil, nil)
	descFamilyLastRefresh = prometheus.NewDesc("joblot_metrics_family_last_refresh_timestamp_seconds",
		"When bytes per key family were last measured without error (unix seconds).", nil, nil)
	descRefreshErrors = prometheus.NewDesc("joblot_metrics_refresh_errors_total",
		"Refreshes of store-derived metrics (including key family measurements) that failed.", nil, nil)
)

// batchStates are always reported, at zero when absent, so that a state's
// series does not vanish and reappear.
var batchStates = []backend.BatchState{
	backend.BatchPopulating, backend.BatchRunning, backend.BatchComplete,
	backend.BatchSucceeded, backend.BatchCancelled, backend.BatchExpired,
}

// storeMetrics is a prometheus.Collector serving the last snapshot of the
// store. Collect reads memory only.
type storeMetrics struct {
	descBatches *prometheus.Desc // its help states the window

	mu    sync.RWMutex
	stats *backend.Stats
	// queues is stats.Queues by label: sanitised names, the queues beyond
	// the cap folded into OverflowLabel; overflowed counts those.
	queues        []queueSample
	overflowed    int
	queueCap      *labelCap[string]
	batches       map[backend.BatchState]int64
	mem           *backend.MemoryInfo
	families      map[string]int64
	memoryLevel   *int
	lastRefresh   time.Time
	familyRefresh time.Time
	refreshErrors int64
}

func newStoreMetrics(batchWindow, maxQueues int) *storeMetrics {
	return &storeMetrics{
		descBatches: prometheus.NewDesc("joblot_batches",
			"Batches by state among the newest "+strconv.Itoa(batchWindow)+" batches in the store, as of the last refresh.",
			[]string{"state"}, nil),
		queueCap: newLabelCap[string](maxQueues),
	}
}

// queueSample is what one queue label reports: one queue's stats, or the
// sum of the queues sharing the label (the overflow, or names that
// sanitise alike).
type queueSample struct {
	label                                  string
	size, scheduled, retry, dead, inFlight int64
	latency                                time.Duration // the oldest
	paused                                 int           // queues paused
}

func (q *queueSample) add(st backend.QueueStats) {
	q.size += st.Size
	q.scheduled += st.Scheduled
	q.retry += st.Retry
	q.dead += st.Dead
	q.inFlight += st.InFlight
	q.latency = max(q.latency, st.Latency)
	if st.Paused {
		q.paused++
	}
}

func (s *storeMetrics) setStats(st *backend.Stats) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = st
	s.queues, s.overflowed = s.queueSamples(st.Queues)
}

// queueSamples groups queues by label under the series cap. Queues that
// already have series keep them; a queue that is gone frees its place;
// free places go to the biggest new queues. The names come from the store
// and may hold anything: they are sanitised, and queues whose names
// sanitise alike are summed, so no label is reported twice.
func (s *storeMetrics) queueSamples(qs []backend.QueueStats) ([]queueSample, int) {
	labels := make([]string, len(qs))
	present := make(map[string]bool, len(qs))
	for i, q := range qs {
		labels[i] = labelValue(q.Name)
		present[labels[i]] = true
	}
	s.queueCap.retain(func(l string) bool { return present[l] })
	// Admitted labels first (they keep their series), then the rest,
	// biggest first, so that free places go to the busiest new queues.
	order := make([]int, len(qs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		ka, kb := s.queueCap.has(labels[a]), s.queueCap.has(labels[b])
		switch {
		case ka && kb:
			return 0
		case ka:
			return -1
		case kb:
			return 1
		}
		return cmp.Compare(jobsIn(qs[b]), jobsIn(qs[a]))
	})
	index := map[string]int{}
	var out []queueSample
	folded := map[string]bool{}
	for _, i := range order {
		l := labels[i]
		if !s.queueCap.admit(l) {
			folded[l] = true
			l = OverflowLabel
		}
		j, ok := index[l]
		if !ok {
			j = len(out)
			index[l] = j
			out = append(out, queueSample{label: l})
		}
		out[j].add(qs[i])
	}
	slices.SortFunc(out, func(a, b queueSample) int { return cmp.Compare(a.label, b.label) })
	return out, len(folded)
}

// jobsIn is a queue's size for choosing which queues get series.
func jobsIn(q backend.QueueStats) int64 {
	return q.Size + q.Scheduled + q.Retry + q.Dead + q.InFlight
}

func (s *storeMetrics) setBatches(b map[backend.BatchState]int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.batches = b
}

func (s *storeMetrics) setMemory(m backend.MemoryInfo) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mem = &m
}

// setFamilies keeps the bytes per family under sanitised labels (the
// families come from a caller's function), summing names that sanitise
// alike.
func (s *storeMetrics) setFamilies(f map[string]int64) {
	byLabel := make(map[string]int64, len(f))
	for name, n := range f {
		byLabel[labelValue(name)] += n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.families = byLabel
	s.familyRefresh = time.Now()
}

func (s *storeMetrics) familyFailed() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshErrors++
}

func (s *storeMetrics) setMemoryLevel(level int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.memoryLevel = &level
}

// refreshed records the end of a refresh.
func (s *storeMetrics) refreshed(at time.Time, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.refreshErrors++
		return
	}
	s.lastRefresh = at
}

// Describe implements prometheus.Collector.
func (s *storeMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		descQueueJobs, descQueueLatency, descQueuePaused, descQueueOverflow,
		descProcessed, descFailed, descDiscarded, descDeadDropped, descExpiredBatchEvents,
		descProcesses, s.descBatches, descMemoryUsed, descMemoryLimit, descFamilyBytes,
		descMemoryLevel, descLastRefresh, descFamilyLastRefresh, descRefreshErrors,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector from the snapshot. It never
// panics: a metric the client library refuses is reported as an invalid
// metric (the scrape then fails loudly) rather than taking the process down.
func (s *storeMetrics) Collect(ch chan<- prometheus.Metric) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	emit := func(d *prometheus.Desc, t prometheus.ValueType, v float64, labels ...string) {
		m, err := prometheus.NewConstMetric(d, t, v, labels...)
		if err != nil {
			m = prometheus.NewInvalidMetric(d, err)
		}
		ch <- m
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) { emit(d, prometheus.GaugeValue, v, labels...) }
	counter := func(d *prometheus.Desc, v float64, labels ...string) { emit(d, prometheus.CounterValue, v, labels...) }
	if st := s.stats; st != nil {
		for _, q := range s.queues {
			gauge(descQueueJobs, float64(q.size), q.label, "queued")
			gauge(descQueueJobs, float64(q.scheduled), q.label, "scheduled")
			gauge(descQueueJobs, float64(q.retry), q.label, "retry")
			gauge(descQueueJobs, float64(q.dead), q.label, "dead")
			gauge(descQueueJobs, float64(q.inFlight), q.label, "in_flight")
			gauge(descQueueLatency, q.latency.Seconds(), q.label)
			gauge(descQueuePaused, float64(q.paused), q.label)
		}
		gauge(descQueueOverflow, float64(s.overflowed))
		counter(descProcessed, float64(st.Processed))
		counter(descFailed, float64(st.Failed))
		counter(descDiscarded, float64(st.Discarded))
		counter(descDeadDropped, float64(st.DeadDropped))
		counter(descExpiredBatchEvents, float64(st.ExpiredBatchEvents))
		gauge(descProcesses, float64(len(st.Processes)))
	}
	if s.batches != nil {
		for _, state := range batchStates {
			gauge(s.descBatches, float64(s.batches[state]), string(state))
		}
	}
	if m := s.mem; m != nil {
		gauge(descMemoryUsed, float64(m.Used))
		if m.Limit > 0 {
			gauge(descMemoryLimit, float64(m.Limit))
		}
	}
	for f, n := range s.families {
		gauge(descFamilyBytes, float64(n), f)
	}
	if s.memoryLevel != nil {
		gauge(descMemoryLevel, float64(*s.memoryLevel))
	}
	if !s.lastRefresh.IsZero() {
		gauge(descLastRefresh, float64(s.lastRefresh.UnixNano())/1e9)
	}
	if !s.familyRefresh.IsZero() {
		gauge(descFamilyLastRefresh, float64(s.familyRefresh.UnixNano())/1e9)
	}
	counter(descRefreshErrors, float64(s.refreshErrors))
}
