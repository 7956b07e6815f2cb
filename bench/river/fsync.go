package main

import (
	"os"
	"path/filepath"
	"time"
)

// fsyncLatency measures the median time of a 4 KiB write plus fsync in dir.
// Both systems pay about one of these per commit, so it says how much
// "durable" costs on the machine the numbers came from (a VM's disk cache
// can make it far cheaper than a real disk's).
func fsyncLatency(dir string, n int) (time.Duration, error) {
	f, err := os.Create(filepath.Join(dir, "fsync-probe"))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	buf := make([]byte, 4096)
	ds := make([]time.Duration, n)
	for i := range ds {
		start := time.Now()
		if _, err := f.WriteAt(buf, int64(i)*4096); err != nil {
			return 0, err
		}
		if err := f.Sync(); err != nil {
			return 0, err
		}
		ds[i] = time.Since(start)
	}
	rs := make([]roundResult, n)
	for i, d := range ds {
		rs[i] = roundResult{Process: d}
	}
	return time.Duration(median(rs, func(r roundResult) float64 { return float64(r.Process) })), nil
}
