package benchrun

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"time"
)

// StatsPrefix names a worker's stats log: stats-<pid>.log, one line
// "<unix seconds> <heap bytes> <goroutines>" per sample.
const StatsPrefix = "stats-"

// writeWorkerStats appends this process's heap and goroutines to its stats
// log every period until ctx ends. Errors end it quietly: the stats are a
// report, not the ledger.
func writeWorkerStats(ctx context.Context, dir string, every time.Duration) {
	f, err := os.OpenFile(filepath.Join(dir, StatsPrefix+strconv.Itoa(os.Getpid())+ranSuffix), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if _, err := fmt.Fprintf(f, "%d %d %d\n", time.Now().Unix(), ms.HeapAlloc, runtime.NumGoroutine()); err != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
