package watchdog

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// gauge is a MemoryReporter whose numbers the test sets.
type gauge struct {
	mu   sync.Mutex
	info backend.MemoryInfo
	err  error
}

func (g *gauge) set(used, limit int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.info = backend.MemoryInfo{Used: used, Limit: limit}
}

func (g *gauge) fail(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.err = err
}

func (g *gauge) Memory(context.Context) (backend.MemoryInfo, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.info, g.err
}

// logRecorder is a slog.Handler keeping every record.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logRecorder) WithGroup(string) slog.Handler            { return h }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.records = append(h.records, r)
	return nil
}

// take returns and forgets the records so far.
func (h *logRecorder) take() []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	r := h.records
	h.records = nil
	return r
}

func TestLevelTransitions(t *testing.T) {
	ctx := context.Background()
	g := &gauge{}
	logs := &logRecorder{}
	var changes []Level
	// Limit 1000, default ratios: budget 900, warning at 720.
	w := New(g, Config{Logger: slog.New(logs), OnChange: func(l Level) { changes = append(changes, l) }})

	steps := []struct {
		used     int64
		want     Level
		logLevel slog.Level // of the one record a change logs
		logHas   string
		quiet    bool // no change: nothing logged
	}{
		{used: 100, want: OK, quiet: true},
		{used: 719, want: OK, quiet: true},
		{used: 720, want: Warning, logLevel: slog.LevelWarn, logHas: "still storing all data"},
		{used: 899, want: Warning, quiet: true},
		{used: 900, want: Critical, logLevel: slog.LevelError, logHas: "no longer storing optional data"},
		{used: 885, want: Critical, quiet: true}, // within the hysteresis margin (18)
		{used: 881, want: Warning, logLevel: slog.LevelWarn, logHas: "storing optional data again"},
		{used: 705, want: Warning, quiet: true},
		{used: 950, want: Critical, logLevel: slog.LevelError, logHas: "no longer storing optional data"},
		{used: 100, want: OK, logLevel: slog.LevelInfo, logHas: "back below the warning level"},
	}
	for i, s := range steps {
		g.set(s.used, 1000)
		got, info, err := w.Check(ctx)
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if got != s.want || w.Level() != s.want {
			t.Fatalf("step %d (used %d): level %v (Level() %v), want %v", i, s.used, got, w.Level(), s.want)
		}
		if info.Used != s.used || info.Limit != 1000 {
			t.Fatalf("step %d: info %+v", i, info)
		}
		if w.AllowOptionalData() != (s.want != Critical) {
			t.Fatalf("step %d: AllowOptionalData %v at %v", i, w.AllowOptionalData(), s.want)
		}
		recs := logs.take()
		if s.quiet {
			if len(recs) != 0 {
				t.Fatalf("step %d: logged %q without a level change", i, recs[0].Message)
			}
			continue
		}
		if len(recs) != 1 || recs[0].Level != s.logLevel || !strings.Contains(recs[0].Message, s.logHas) {
			t.Fatalf("step %d: want one %v record containing %q, got %v", i, s.logLevel, s.logHas, messages(recs))
		}
	}
	want := []Level{Warning, Critical, Warning, Critical, OK}
	if len(changes) != len(want) {
		t.Fatalf("OnChange saw %v, want %v", changes, want)
	}
	for i := range want {
		if changes[i] != want[i] {
			t.Fatalf("OnChange saw %v, want %v", changes, want)
		}
	}
}

func TestExplicitBudgetWinsOverLimit(t *testing.T) {
	g := &gauge{}
	w := New(g, Config{Budget: 500, WarnRatio: 0.5, Logger: slog.New(&logRecorder{})})
	for _, s := range []struct {
		used, limit int64
		want        Level
	}{
		{249, 10_000, OK},
		{250, 10_000, Warning},
		{500, 10_000, Critical},
		{100, 0, OK}, // no store limit: the budget alone counts
		{600, 0, Critical},
	} {
		g.set(s.used, s.limit)
		if got, _, err := w.Check(context.Background()); err != nil || got != s.want {
			t.Fatalf("used %d limit %d: level %v err %v, want %v", s.used, s.limit, got, err, s.want)
		}
	}
}

func TestNoBudgetNoLimitStaysOKAndSaysSoOnce(t *testing.T) {
	g := &gauge{}
	logs := &logRecorder{}
	w := New(g, Config{Logger: slog.New(logs)})
	for _, used := range []int64{1, 1 << 40, 1 << 50} {
		g.set(used, 0)
		if got, _, err := w.Check(context.Background()); err != nil || got != OK {
			t.Fatalf("used %d, no limit: level %v err %v", used, got, err)
		}
	}
	recs := logs.take()
	if len(recs) != 1 || !strings.Contains(recs[0].Message, "reports no limit") {
		t.Fatalf("want one record saying there is no limit, got %v", messages(recs))
	}

	// Once a limit appears (CONFIG SET maxmemory), the watchdog watches it.
	g.set(950, 1000)
	if got, _, _ := w.Check(context.Background()); got != Critical {
		t.Fatalf("with a limit: level %v, want critical", got)
	}
}

func TestNilReporterStaysOK(t *testing.T) {
	logs := &logRecorder{}
	w := New(nil, Config{Logger: slog.New(logs)})
	for range 3 {
		if got, _, err := w.Check(context.Background()); err != nil || got != OK {
			t.Fatalf("level %v err %v", got, err)
		}
	}
	if recs := logs.take(); len(recs) != 1 || !strings.Contains(recs[0].Message, "does not report") {
		t.Fatalf("want one record, got %v", messages(recs))
	}
	if !w.AllowOptionalData() {
		t.Fatal("optional data refused without a reporter")
	}
}

func TestFailedCheckKeepsLevel(t *testing.T) {
	g := &gauge{}
	logs := &logRecorder{}
	w := New(g, Config{Logger: slog.New(logs)})
	g.set(990, 1000)
	if got, _, _ := w.Check(context.Background()); got != Critical {
		t.Fatalf("level %v, want critical", got)
	}
	logs.take()

	boom := errors.New("connection refused")
	g.fail(boom)
	for range 3 {
		got, _, err := w.Check(context.Background())
		if !errors.Is(err, boom) || got != Critical {
			t.Fatalf("failed check: level %v err %v; want critical and the error", got, err)
		}
	}
	if recs := logs.take(); len(recs) != 1 || recs[0].Level != slog.LevelWarn {
		t.Fatalf("want the failure logged once, got %v", messages(recs))
	}

	g.fail(nil)
	g.set(10, 1000)
	if got, _, err := w.Check(context.Background()); err != nil || got != OK {
		t.Fatalf("after recovery: level %v err %v", got, err)
	}
}

func TestRunChecksUntilCancelled(t *testing.T) {
	g := &gauge{}
	g.set(10, 1000)
	w := New(g, Config{Interval: time.Millisecond, Logger: slog.New(&logRecorder{})})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		w.Run(ctx)
		close(done)
	}()
	g.set(999, 1000)
	waitFor(t, func() bool { return w.Level() == Critical })
	g.set(1, 1000)
	waitFor(t, func() bool { return w.Level() == OK })
	cancel()
	select {
	case <-done:
	case <-time.After(waitTimeout):
		t.Fatal("Run did not return after cancel")
	}
}

// waitTimeout bounds every wait of the package's tests: generous, so that
// a busy machine makes a test slower, never red.
const waitTimeout = time.Minute

// waitFor polls cond until it holds, failing the test after waitTimeout.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not reached within %v", waitTimeout)
		}
		time.Sleep(time.Millisecond) // paces the poll only
	}
}

func messages(recs []slog.Record) []string {
	var m []string
	for _, r := range recs {
		m = append(m, r.Level.String()+": "+r.Message)
	}
	return m
}
