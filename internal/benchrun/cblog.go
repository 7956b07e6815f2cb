package benchrun

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/joblot/joblot/backend"
)

// cbPrefix names the callback ledger of worker process <pid>:
// cb-<pid>.log, one "<event> <batch id>" line per callback run, written
// like ran-<pid>.log (one write on an O_APPEND file).
const cbPrefix = "cb-"

// maxCallbackLine bounds a callback ledger line (a batch id is a job id).
const maxCallbackLine = 4096

// appendCallback records one run of batch's callback for ev.
func appendCallback(f *os.File, ev backend.CallbackEvent, batch string) error {
	if strings.ContainsAny(batch, "\n ") || len(batch) > maxCallbackLine {
		return fmt.Errorf("ledger: unexpected batch id %q", batch)
	}
	if _, err := f.Write([]byte(string(ev) + " " + batch + "\n")); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	return nil
}

// openCallbackLog opens (creating) dir/cb-<pid>.log for appending.
func openCallbackLog(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, cbPrefix+strconv.Itoa(os.Getpid())+ranSuffix), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	return f, nil
}

// ScanCallbackLogs counts the callback runs in dir's callback ledgers, by
// "<event> <batch id>".
func ScanCallbackLogs(dir string) (map[string]int, error) {
	files, err := filepath.Glob(filepath.Join(dir, cbPrefix+"*"+ranSuffix))
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	runs := map[string]int{}
	for _, p := range files {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("ledger: %w", err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 64*1024), 2*maxCallbackLine)
		for sc.Scan() {
			if line := sc.Text(); line != "" {
				runs[line]++
			}
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("ledger: %s: %w", p, err)
		}
	}
	return runs, nil
}
