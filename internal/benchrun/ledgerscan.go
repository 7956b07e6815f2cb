package benchrun

import (
	"fmt"
	"os"
	"path/filepath"
)

// LedgerScan counts the worker logs of a file ledger against jobs 0..n-1.
type LedgerScan struct {
	// Seen holds every job number that ran at least once.
	Seen *Bitmap
	// Ran counts distinct job numbers that ran, Duplicates runs beyond
	// the first, Foreign lines outside 0..n-1 or unreadable.
	Ran, Duplicates, Foreign int64
}

// ScanRanLogs reads every worker log in dir.
func ScanRanLogs(dir string, n int64) (LedgerScan, error) {
	s := LedgerScan{Seen: NewBitmap(n)}
	logs, err := filepath.Glob(filepath.Join(dir, ranPrefix+"*"+ranSuffix))
	if err != nil {
		return s, fmt.Errorf("ledger: %w", err)
	}
	for _, p := range logs {
		if err := scanRanLog(p, func(k int64, ok bool) {
			switch {
			case !ok || k < 0 || k >= n:
				s.Foreign++
			case s.Seen.Set(k):
				s.Ran++
			default:
				s.Duplicates++
			}
		}); err != nil {
			return s, err
		}
	}
	return s, nil
}

// RanLogBytes is the total size of dir's worker logs: a cheap measure of
// work done, for sampling throughput.
func RanLogBytes(dir string) int64 {
	files, _ := filepath.Glob(filepath.Join(dir, ranPrefix+"*"+ranSuffix))
	var n int64
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			n += fi.Size()
		}
	}
	return n
}
