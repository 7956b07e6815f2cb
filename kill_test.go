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

// The kill test (BRIEF §4.2): worker processes are SIGKILLed at random
// instants, over and over, while a ledger outside the system under test —
// an append-only file per process — records every run. In the end every
// enqueued job ran at least once.

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

	// Kill a random worker at a random instant, over and over, while jobs
	// are being worked; each victim is replaced at once.
	kills := 0
	for end := time.Now().Add(6 * time.Second); time.Now().Before(end); {
		time.Sleep(time.Duration(50+rand.IntN(350)) * time.Millisecond)
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
	deadline := time.Now().Add(60 * time.Second)
	for {
		counts, err := ran()
		if err != nil {
			t.Fatal(err)
		}
		// A job whose process was killed under it three times in a row is
		// a poison pill (BRIEF §4.2): it is in the dead set, not lost.
		poisoned := map[int]bool{}
		for _, j := range listAll(t, b, backend.JobFilter{Set: backend.SetDead}) {
			var a ledgerArgs
			if j.ErrorMessage == backend.PoisonPillMessage && json.Unmarshal(j.Args, &a) == nil {
				poisoned[a.N] = true
			}
		}
		accounted := 0
		for i := 0; i < jobs; i++ {
			if counts[i] > 0 || poisoned[i] {
				accounted++
			}
		}
		if accounted == jobs {
			dups := 0
			for _, c := range counts {
				dups += c - 1
			}
			t.Logf("%d jobs, %d SIGKILLs: %d ran, %d poison pills in the dead set, none lost; %d duplicate runs (at-least-once)",
				jobs, kills, len(counts), len(poisoned), dups)
			return
		}
		if time.Now().After(deadline) {
			missing := []int{}
			for i := 0; i < jobs && len(missing) < 10; i++ {
				if counts[i] == 0 && !poisoned[i] {
					missing = append(missing, i)
				}
			}
			t.Fatalf("after %d SIGKILLs, %d of %d jobs never ran and are not poison pills (first: %v)", kills, jobs-accounted, jobs, missing)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
