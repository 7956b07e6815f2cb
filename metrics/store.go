package metrics

import (
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
		"Jobs in each queue's sets (set: queued, scheduled, retry, dead, in_flight), as of the last refresh.",
		[]string{"queue", "set"}, nil)
	descQueueLatency = prometheus.NewDesc("joblot_queue_latency_seconds",
		"Age of the oldest job waiting in each queue, as of the last refresh.",
		[]string{"queue"}, nil)
	descQueuePaused = prometheus.NewDesc("joblot_queue_paused",
		"1 if the queue is paused, else 0, as of the last refresh.",
		[]string{"queue"}, nil)
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

	mu            sync.RWMutex
	stats         *backend.Stats
	batches       map[backend.BatchState]int64
	mem           *backend.MemoryInfo
	families      map[string]int64
	memoryLevel   *int
	lastRefresh   time.Time
	familyRefresh time.Time
	refreshErrors int64
}

func newStoreMetrics(batchWindow int) *storeMetrics {
	return &storeMetrics{descBatches: prometheus.NewDesc("joblot_batches",
		"Batches by state among the newest "+strconv.Itoa(batchWindow)+" batches in the store, as of the last refresh.",
		[]string{"state"}, nil)}
}

func (s *storeMetrics) setStats(st *backend.Stats) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats = st
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

func (s *storeMetrics) setFamilies(f map[string]int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.families = f
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
		descQueueJobs, descQueueLatency, descQueuePaused,
		descProcessed, descFailed, descDiscarded, descDeadDropped, descExpiredBatchEvents,
		descProcesses, s.descBatches, descMemoryUsed, descMemoryLimit, descFamilyBytes,
		descMemoryLevel, descLastRefresh, descFamilyLastRefresh, descRefreshErrors,
	} {
		ch <- d
	}
}

// Collect implements prometheus.Collector from the snapshot.
func (s *storeMetrics) Collect(ch chan<- prometheus.Metric) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	if st := s.stats; st != nil {
		for _, q := range st.Queues {
			gauge(descQueueJobs, float64(q.Size), q.Name, "queued")
			gauge(descQueueJobs, float64(q.Scheduled), q.Name, "scheduled")
			gauge(descQueueJobs, float64(q.Retry), q.Name, "retry")
			gauge(descQueueJobs, float64(q.Dead), q.Name, "dead")
			gauge(descQueueJobs, float64(q.InFlight), q.Name, "in_flight")
			gauge(descQueueLatency, q.Latency.Seconds(), q.Name)
			gauge(descQueuePaused, bool01(q.Paused), q.Name)
		}
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

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
