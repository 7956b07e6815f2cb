package benchrun

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The file ledger of the multi-process bench lives in a directory outside
// the system under test:
//
//	enqueued       the number N of jobs enqueued (numbers 0..N-1), written
//	               only after every one of them was stored
//	ran-<pid>.log  one job number per line, appended by worker process
//	               <pid> after the job ran
//
// Each line is written with a single write(2) on a file opened with
// O_APPEND, so lines from concurrent workers never interleave, and what a
// process wrote survives its SIGKILL (it is in the page cache). A process
// killed between a job's run and its ack runs the job again elsewhere:
// that is a duplicate, not a loss.
const (
	enqueuedFile = "enqueued"
	ranPrefix    = "ran-"
	ranSuffix    = ".log"
)

// WriteEnqueued records that jobs 0..n-1 were enqueued. It refuses a
// directory that already records an enqueue: job numbers would collide.
func WriteEnqueued(dir string, n int64) error {
	path := filepath.Join(dir, enqueuedFile)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	_, err = fmt.Fprintf(f, "%d\n", n)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return fmt.Errorf("ledger: write %s: %w", path, err)
	}
	return nil
}

// CheckFresh reports an error if dir already records an enqueue.
func CheckFresh(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	_, err := os.Stat(filepath.Join(dir, enqueuedFile))
	switch {
	case err == nil:
		return fmt.Errorf("ledger: %s already records an enqueue; use a fresh directory", dir)
	case errors.Is(err, fs.ErrNotExist):
		return nil
	default:
		return fmt.Errorf("ledger: %w", err)
	}
}

// ReadEnqueued returns how many jobs the ledger says were enqueued.
func ReadEnqueued(dir string) (int64, error) {
	raw, err := os.ReadFile(filepath.Join(dir, enqueuedFile))
	if err != nil {
		return 0, fmt.Errorf("ledger: nothing recorded as enqueued: %w", err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("ledger: %s/%s holds %q, not a job count", dir, enqueuedFile, raw)
	}
	return n, nil
}

// RanLog is one worker process's append-only log of the jobs it ran.
type RanLog struct {
	f *os.File
}

// OpenRanLog opens (creating) dir/ran-<pid>.log for appending.
func OpenRanLog(dir string) (*RanLog, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	path := filepath.Join(dir, ranPrefix+strconv.Itoa(os.Getpid())+ranSuffix)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	return &RanLog{f: f}, nil
}

// Append records that job n ran, in one write. Safe for concurrent use.
func (l *RanLog) Append(n int64) error {
	var buf [24]byte
	line := strconv.AppendInt(buf[:0], n, 10)
	line = append(line, '\n')
	if _, err := l.f.Write(line); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	return nil
}

// Close closes the log.
func (l *RanLog) Close() error { return l.f.Close() }

// Verification is the outcome of checking a file ledger.
type Verification struct {
	Enqueued int64 `json:"enqueued"`
	// Ran counts distinct enqueued job numbers that ran at least once.
	Ran int64 `json:"ran"`
	// Duplicates counts runs beyond the first (at-least-once delivery).
	Duplicates int64 `json:"duplicates"`
	// Lost counts enqueued job numbers that never ran.
	Lost int64 `json:"lost"`
	// LostSample lists up to 20 lost job numbers.
	LostSample []int64 `json:"lost_sample"`
	// Foreign counts lines outside 0..Enqueued-1 or unreadable (a line cut
	// by a crash mid-write would be one; a single write makes that
	// unlikely).
	Foreign int64 `json:"foreign"`
	// Logs is how many worker logs were read.
	Logs int `json:"logs"`
}

// Verify reads the ledger in dir and counts lost and duplicate jobs.
func Verify(dir string) (*Verification, error) {
	n, err := ReadEnqueued(dir)
	if err != nil {
		return nil, err
	}
	logs, err := filepath.Glob(filepath.Join(dir, ranPrefix+"*"+ranSuffix))
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	v := &Verification{Enqueued: n, Logs: len(logs)}
	seen := NewBitmap(n)
	for _, path := range logs {
		if err := scanRanLog(path, func(k int64, ok bool) {
			switch {
			case !ok || k < 0 || k >= n:
				v.Foreign++
			case seen.Set(k):
				v.Ran++
			default:
				v.Duplicates++
			}
		}); err != nil {
			return nil, err
		}
	}
	v.Lost = n - v.Ran
	for k := int64(0); k < n && len(v.LostSample) < 20 && int64(len(v.LostSample)) < v.Lost; k++ {
		if !seen.Has(k) {
			v.LostSample = append(v.LostSample, k)
		}
	}
	return v, nil
}

func scanRanLog(path string, fn func(n int64, ok bool)) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			continue
		}
		k, err := strconv.ParseInt(line, 10, 64)
		fn(k, err == nil)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("ledger: read %s: %w", path, err)
	}
	return nil
}
