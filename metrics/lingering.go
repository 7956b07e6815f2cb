package metrics

import "github.com/prometheus/client_golang/prometheus"

// newLingeringGauge is joblot_jobs_lingering, fed by JobsLingering.
func newLingeringGauge() prometheus.Gauge {
	return prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "joblot_jobs_lingering",
		Help: "Goroutines of job attempts this process abandoned (past their timeout, or at the shutdown deadline) " +
			"that still run because their jobs ignore their context. At the server's MaxLingering it stops fetching.",
	})
}

// JobsLingering sets the number of lingering job goroutines. It implements
// joblot.LingerObserver: a Collector passed as ServerConfig.Observer gets
// it.
func (c *Collector) JobsLingering(n int) { c.lingering.Set(float64(n)) }
