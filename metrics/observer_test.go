package metrics_test

import (
	"github.com/joblot/joblot"
	"github.com/joblot/joblot/metrics"
)

// A Collector is a server's job observer.
var _ joblot.JobObserver = (*metrics.Collector)(nil)

// It is told how many job goroutines linger.
var _ joblot.LingerObserver = (*metrics.Collector)(nil)
