package metrics

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/joblot/joblot/backend"
)

// Global limit metrics (backend.LimitStats), from the last refresh. A
// limit group is user data (a limit key is often a customer id), so its
// label is sanitised and the (queue, group) series are capped at
// maxLimitSeries: the groups beyond the cap are summed under group
// OverflowLabel. The backend lists at most backend.MaxLimitGroupsShown
// groups per queue; joblot_queue_limit_groups counts them all.
var (
	descQueueLimit = prometheus.NewDesc("joblot_queue_limit",
		"A queue's global limit: concurrency (jobs of one group in flight at once) or rate_per_second (jobs of one group fetched per second), as of the last refresh.",
		[]string{"queue", "limit"}, nil)
	descLimitGroups = prometheus.NewDesc("joblot_queue_limit_groups",
		"Limit groups of a queue with a slot held or a job waiting, as of the last refresh.",
		[]string{"queue"}, nil)
	descLimitRunning = prometheus.NewDesc("joblot_queue_limit_running",
		"Concurrency slots held (jobs in flight) per limit group, as of the last refresh.",
		[]string{"queue", "group"}, nil)
	descLimitWaiting = prometheus.NewDesc("joblot_queue_limit_waiting",
		"Jobs waiting over the concurrency limit per limit group, as of the last refresh.",
		[]string{"queue", "group"}, nil)
)

// maxLimitSeries caps the (queue, group) label pairs of the limit metrics.
const maxLimitSeries = 200

// allGroupLabel is the group label of a limit on the whole queue (whose
// group is the empty string, which Prometheus reads as no label).
const allGroupLabel = "_all"

// limitSample is one queue's limit metrics.
type limitSample struct {
	queue       string
	limit       backend.QueueLimit
	groupsTotal int
	groups      []limitGroupSample
}

type limitGroupSample struct {
	label            string
	running, waiting int64
}

// limitMetrics is a prometheus.Collector of the limit metrics.
type limitMetrics struct {
	mu      sync.RWMutex
	samples []limitSample
}

// setStats keeps the limits of st's queues, sanitised and capped.
func (m *limitMetrics) setStats(st *backend.Stats) {
	var out []limitSample
	series := 0
	for _, q := range st.Queues {
		if q.Limit == nil || series >= maxLimitSeries {
			continue
		}
		s := limitSample{queue: labelValue(q.Name), limit: q.Limit.Limit, groupsTotal: q.Limit.GroupsTotal}
		index := map[string]int{}
		for _, g := range q.Limit.Groups {
			l := allGroupLabel
			if g.Group != "" {
				l = labelValue(g.Group)
			}
			if _, seen := index[l]; !seen && series >= maxLimitSeries-1 {
				l = OverflowLabel // keep one place for the overflow
			}
			i, ok := index[l]
			if !ok {
				i = len(s.groups)
				index[l] = i
				s.groups = append(s.groups, limitGroupSample{label: l})
				series++
			}
			s.groups[i].running += g.Running
			s.groups[i].waiting += g.Waiting
		}
		out = append(out, s)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.samples = out
}

// Describe implements prometheus.Collector.
func (m *limitMetrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descQueueLimit, descLimitGroups, descLimitRunning, descLimitWaiting} {
		ch <- d
	}
}

// Collect implements prometheus.Collector from the last refresh.
func (m *limitMetrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		g, err := prometheus.NewConstMetric(d, prometheus.GaugeValue, v, labels...)
		if err != nil {
			g = prometheus.NewInvalidMetric(d, err)
		}
		ch <- g
	}
	for _, s := range m.samples {
		if s.limit.Concurrency > 0 {
			gauge(descQueueLimit, float64(s.limit.Concurrency), s.queue, "concurrency")
		}
		if s.limit.Rate > 0 && s.limit.Per > 0 {
			gauge(descQueueLimit, float64(s.limit.Rate)/s.limit.Per.Seconds(), s.queue, "rate_per_second")
		}
		gauge(descLimitGroups, float64(s.groupsTotal), s.queue)
		for _, g := range s.groups {
			gauge(descLimitRunning, float64(g.running), s.queue, g.label)
			gauge(descLimitWaiting, float64(g.waiting), s.queue, g.label)
		}
	}
}
