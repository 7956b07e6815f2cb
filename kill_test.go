package joblot

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/redistest"
)

// The kill test (docs/reliability.md): worker processes are SIGKILLed at random
// instants, over and over, while a ledger outside the system under test —
// an append-only file per process — records every run. In the end every
// enqueued job ran at least once.

// killTestTimeout bounds each wait of the kill test: generous, as worker
// processes start slowly on a busy machine.
const killTestTimeout = 3 * time.Minute

const (
	killChildEnv  = "JOBLOT_KILLTEST_CHILD"
	killRedisEnv  = "JOBLOT_KILLTEST_REDIS"
	killLedgerEnv = "JOBLOT_KILLTEST_LEDGER"
)

func TestMain(m *testing.M) {
	if os.Getenv(killChildEnv) != "" {
		runKillChild()
		return
	}
	if os.Getenv(limitChildEnv) != "" {
		runLimitChild()
		return
	}
	if os.Getenv(periodicChildEnv) != "" {
		runPeriodicChild()
		return
	}
	os.Exit(m.Run())
}

type ledgerArgs struct {
	N int `json:"n"`
}

func (ledgerArgs) Kind() string { return "ledger" }

// runKillChild is a worker process: it runs ledger jobs until killed.
func runKillChild() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	b, err := redis.Open(ctx, redis.Options{URL: os.Getenv(killRedisEnv)})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: open:", err)
		os.Exit(2)
	}
	ledger, err := os.OpenFile(os.Getenv(killLedgerEnv), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: ledger:", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	ws := NewWorkers()
	AddWorker(ws, WorkFunc[ledgerArgs](func(ctx context.Context, j *Job[ledgerArgs]) error {
		time.Sleep(time.Duration(rand.IntN(100_000)) * time.Microsecond) // slow enough that kills land mid-run
		mu.Lock()
		defer mu.Unlock()
		_, err := fmt.Fprintf(ledger, "%d\n", j.Args.N)
		return err
	}), nil)
	cfg := ServerConfig{
		Workers:           ws,
		Concurrency:       20,
		HeartbeatInterval: 200 * time.Millisecond,
		ProcessTTL:        time.Second,
		RecoverInterval:   200 * time.Millisecond,
		PollInterval:      100 * time.Millisecond,
		IdleFetchInterval: 20 * time.Millisecond,
	}
	s, err := NewServer(b, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	if err := s.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "child: run:", err)
		os.Exit(2)
	}
}

func TestSIGKILLedWorkersLoseNoJob(t *testing.T) {
	const jobs, workers = 4000, 3
	srv := redistest.Start(t)
	dir := t.TempDir()
	ctx := context.Background()
	b, err := redis.Open(ctx, redis.Options{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	client := NewClient(b, ClientConfig{})
	params := make([]EnqueueParams, jobs)
	for i := range params {
		params[i] = EnqueueParams{Args: ledgerArgs{N: i}}
	}
	if _, err := client.EnqueueMany(ctx, params); err != nil {
		t.Fatal(err)
	}

	spawned := 0
	spawn := func() *exec.Cmd {
		spawned++
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), killChildEnv+"=1", killRedisEnv+"="+srv.URL,
			killLedgerEnv+"="+filepath.Join(dir, "ran-"+strconv.Itoa(spawned)+".log"))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	procs := make([]*exec.Cmd, workers)
	for i := range procs {
		procs[i] = spawn()
	}
	defer func() {
		for _, p := range procs {
			_ = p.Process.Kill()
			_, _ = p.Process.Wait()
		}
	}()

	// Kill a random worker at a random point of the run, over and over,
	// while jobs are being worked; each victim is replaced at once. The
	// points are measured in work done (bytes the ledgers grew by), not in
	// time, so a slow machine gets as many kills mid-run as a fast one.
	ledgerBytes := func() int64 {
		var n int64
		files, _ := filepath.Glob(filepath.Join(dir, "ran-*.log"))
		for _, name := range files {
			if fi, err := os.Stat(name); err == nil {
				n += fi.Size()
			}
		}
		return n
	}
	// drained reports whether no job is left to run or running.
	drained := func() bool {
		st, err := client.Stats(ctx)
		if err != nil {
			return false
		}
		for _, q := range st.Queues {
			if q.Size+q.InFlight+q.Retry > 0 {
				return false
			}
		}
		return true
	}
	const maxKills = 20
	kills := 0
	for range maxKills {
		// A ledger line is 2 to 5 bytes: 20 to 400 jobs between kills.
		target := ledgerBytes() + int64(80+rand.IntN(800))
		if !pollUntil(killTestTimeout, func() bool { return ledgerBytes() >= target || drained() }) || drained() {
			break // the run is over (or stalled: the check below says which)
		}
		i := rand.IntN(workers)
		_ = procs[i].Process.Signal(syscall.SIGKILL)
		_, _ = procs[i].Process.Wait()
		procs[i] = spawn()
		kills++
	}

	ran := func() (map[int]int, error) {
		counts := map[int]int{}
		files, _ := filepath.Glob(filepath.Join(dir, "ran-*.log"))
		for _, name := range files {
			f, err := os.Open(name)
			if err != nil {
				return nil, err
			}
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if n, err := strconv.Atoi(sc.Text()); err == nil {
					counts[n]++
				}
			}
			f.Close()
		}
		return counts, nil
	}
	var counts map[int]int
	poisoned := map[int]bool{}
	accounted := 0
	done := pollUntil(killTestTimeout, func() bool {
		var err error
		if counts, err = ran(); err != nil {
			t.Fatal(err)
		}
		// A job whose process was killed under it three times in a row is
		// a poison pill (backend.MaxRecoveries): it is in the dead set, not lost.
		for _, j := range listAll(t, b, backend.JobFilter{Set: backend.SetDead}) {
			var a ledgerArgs
			if j.ErrorMessage == backend.PoisonPillMessage && json.Unmarshal(j.Args, &a) == nil {
				poisoned[a.N] = true
			}
		}
		accounted = 0
		for i := 0; i < jobs; i++ {
			if counts[i] > 0 || poisoned[i] {
				accounted++
			}
		}
		return accounted == jobs
	})
	if !done {
		missing := []int{}
		for i := 0; i < jobs && len(missing) < 10; i++ {
			if counts[i] == 0 && !poisoned[i] {
				missing = append(missing, i)
			}
		}
		t.Fatalf("after %d SIGKILLs, %d of %d jobs never ran and are not poison pills (first: %v)", kills, jobs-accounted, jobs, missing)
	}
	dups := 0
	for _, c := range counts {
		dups += c - 1
	}
	t.Logf("%d jobs, %d SIGKILLs: %d ran, %d poison pills in the dead set, none lost; %d duplicate runs (at-least-once)",
		jobs, kills, len(counts), len(poisoned), dups)
}
