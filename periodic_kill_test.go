package joblot

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/redistest"
)

// The periodic kill test: three server processes share one Redis and two
// @every 1s periodic jobs (one per missed policy); the leader is SIGKILLed
// mid-run, over and over. The ledger is the queue the jobs go to, which no
// process works: every instant enqueued is there, once.

const periodicChildEnv = "JOBLOT_PERIODIC_CHILD"

// periodicKillInterval is the children's PeriodicInterval: the grace (an
// instant is on time while less than 4 intervals old) is 4 of it.
const periodicKillInterval = 100 * time.Millisecond

func periodicKillJobs() []PeriodicJob {
	return []PeriodicJob{
		{Name: "skip", Schedule: "@every 1s", Args: tickArgs{}, Opts: EnqueueOpts{Queue: "cron"}},
		{Name: "once", Schedule: "@every 1s", Args: tickArgs{}, Opts: EnqueueOpts{Queue: "cron"}, Missed: MissedRunOnce},
	}
}

// runPeriodicChild is a server process that enqueues the periodic jobs
// while it leads, until killed.
func runPeriodicChild() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	b, err := redis.Open(ctx, redis.Options{URL: os.Getenv(killRedisEnv)})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: open:", err)
		os.Exit(2)
	}
	s, err := NewServer(b, ServerConfig{
		Workers:           NewWorkers(),
		Queues:            map[string]int{"idle": 1}, // the ledger queue is nobody's
		Concurrency:       1,
		HeartbeatInterval: 200 * time.Millisecond,
		ProcessTTL:        time.Hour,
		PeriodicInterval:  periodicKillInterval,
		Periodic:          periodicKillJobs(),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	if err := s.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "child: run:", err)
		os.Exit(2)
	}
}

// fire is one enqueued periodic job: its instant and when it was decided.
type fire struct{ at, decided time.Time }

func TestSIGKILLedPeriodicLeaderFiresNoInstantTwice(t *testing.T) {
	const processes, kills = 3, 3
	srv := redistest.Start(t)
	ctx := context.Background()
	b, err := redis.Open(ctx, redis.Options{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	spawn := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), periodicChildEnv+"=1", killRedisEnv+"="+srv.URL)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	procs := make([]*exec.Cmd, processes)
	for i := range procs {
		procs[i] = spawn()
	}
	defer func() {
		for _, p := range procs {
			if p == nil {
				continue
			}
			_ = p.Process.Kill()
			_, _ = p.Process.Wait()
		}
	}()

	ledger := func() map[string][]fire {
		out := map[string][]fire{}
		for _, j := range listAll(t, b, backend.JobFilter{Set: backend.SetQueued, Queue: "cron"}) {
			at, err := time.Parse(time.RFC3339Nano, j.Meta[MetaPeriodicInstant])
			if err != nil {
				t.Fatalf("job %s: instant %q: %v", j.ID, j.Meta[MetaPeriodicInstant], err)
			}
			name := j.Meta[MetaPeriodicName]
			out[name] = append(out[name], fire{at: at, decided: j.CreatedAt})
		}
		return out
	}
	// leaderPID is the pid of the process holding the periodic lease.
	leaderPID := func() int {
		holder, err := srv.Do("GET", "jl:lease:"+periodicLease)
		if err != nil || holder == "" {
			return 0
		}
		st, err := b.Stats(ctx, time.Now())
		if err != nil {
			return 0
		}
		for _, p := range st.Processes {
			if p.ID == holder {
				return p.PID
			}
		}
		return 0
	}

	for k := range kills {
		// Run on until both jobs fired 3 more instants: the new leader works.
		base := len(ledger()["skip"])
		if !pollUntil(killTestTimeout, func() bool {
			l := ledger()
			return len(l["skip"]) >= base+3 && len(l["once"]) >= base+3
		}) {
			t.Fatalf("kill %d: the periodic jobs stopped firing: %d instants so far", k, len(ledger()["skip"]))
		}
		var pid int
		if !pollUntil(killTestTimeout, func() bool { pid = leaderPID(); return pid != 0 }) {
			t.Fatalf("kill %d: no process holds the periodic lease", k)
		}
		i := slices.IndexFunc(procs, func(c *exec.Cmd) bool { return c.Process.Pid == pid })
		if i < 0 {
			t.Fatalf("kill %d: the lease holder, pid %d, is none of the children", k, pid)
		}
		_ = procs[i].Process.Signal(syscall.SIGKILL)
		_, _ = procs[i].Process.Wait()
		procs[i] = spawn()
	}
	if !pollUntil(killTestTimeout, func() bool { return len(ledger()["skip"]) >= kills*3+3 }) {
		t.Fatalf("the periodic jobs stopped firing after the last kill")
	}
	// Downtime: every process killed until 3 instants have passed
	// unenqueued, then three new ones. At least two of those instants are
	// older than the grace when the new leader looks, so both policies
	// meet missed instants.
	for i, p := range procs {
		_ = p.Process.Signal(syscall.SIGKILL)
		_, _ = p.Process.Wait()
		procs[i] = nil
	}
	var lastBefore time.Time
	lastOf := map[string]time.Time{} // each job's last instant before the downtime
	for name, l := range ledger() {
		for _, f := range l {
			if f.at.After(lastBefore) {
				lastBefore = f.at
			}
			if f.at.After(lastOf[name]) {
				lastOf[name] = f.at
			}
		}
	}
	if !pollUntil(killTestTimeout, func() bool { return time.Now().After(lastBefore.Add(3 * time.Second)) }) {
		t.Fatal("the wall clock stands still")
	}
	for i := range procs {
		procs[i] = spawn()
	}
	before := len(ledger()["skip"])
	if !pollUntil(killTestTimeout, func() bool { l := ledger(); return len(l["skip"]) >= before+3 && len(l["once"]) >= before+3 }) {
		t.Fatalf("the periodic jobs did not fire after the downtime")
	}

	grace := periodicGraceTicks * periodicKillInterval
	sch, err := parseSchedule("@every 1s")
	if err != nil {
		t.Fatal(err)
	}
	for name, fires := range ledger() {
		seen := map[time.Time]bool{}
		late := 0
		for _, f := range fires {
			if seen[f.at] {
				t.Errorf("%s: instant %v enqueued twice", name, f.at)
			}
			seen[f.at] = true
			if f.decided.Sub(f.at) < grace {
				continue // on time
			}
			// Late: only run once enqueues a missed instant, and only the
			// latest one missed when it decided.
			late++
			if name == "skip" {
				t.Errorf("skip: missed instant %v enqueued at %v", f.at, f.decided)
			} else if next := sch.next(f.at); next.Before(f.decided.Add(-grace)) {
				t.Errorf("once: missed instant %v enqueued at %v, but %v was missed too and is later", f.at, f.decided, next)
			}
		}
		if name == "once" && late == 0 {
			t.Errorf("once: no missed instant enqueued after a downtime of 3 instants")
		}
		// The downtime's first two instants were missed by both policies
		// (run once enqueues only a later one).
		if gap := lastOf[name].Add(time.Second); seen[gap] || name == "skip" && seen[gap.Add(time.Second)] {
			t.Errorf("%s: a missed instant of the downtime after %v was enqueued", name, lastOf[name])
		}
		t.Logf("%s: %d instants, none twice, %d enqueued late (missed)", name, len(fires), late)
	}
}
