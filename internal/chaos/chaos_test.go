package chaos

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/benchrun"
)

const (
	chaosRedisEnv = "JOBLOT_CHAOS_REDIS"
	chaosDirEnv   = "JOBLOT_CHAOS_DIR"
)

// FastRecovery shortens heartbeats and recovery so a short run sees a
// killed worker's jobs come back.
func fastRecovery(c *joblot.ServerConfig) {
	c.HeartbeatInterval = 200 * time.Millisecond
	c.ProcessTTL = time.Second
	c.RecoverInterval = 200 * time.Millisecond
	c.PollInterval = 100 * time.Millisecond
	c.IdleFetchInterval = 20 * time.Millisecond
}

// TestChaosWorkerProcess is not a test: it is the worker process the
// chaos test spawns (it does nothing unless the environment says so).
func TestChaosWorkerProcess(t *testing.T) {
	url, dir := os.Getenv(chaosRedisEnv), os.Getenv(chaosDirEnv)
	if url == "" {
		t.Skip("only a worker process of TestChaosShort")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	b, err := redis.Open(ctx, redis.Options{URL: url, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	logf, err := os.Create(filepath.Join(dir, fmt.Sprintf("worker-%d.txt", os.Getpid())))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	log := slog.New(slog.NewTextHandler(logf, nil))
	if err := benchrun.Work(ctx, b, benchrun.WorkConfig{Dir: dir, Concurrency: 20, Server: fastRecovery, Logger: log}); err != nil {
		t.Fatal(err)
	}
}

func spawnTestWorker(url, dir string) (*exec.Cmd, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestChaosWorkerProcess$")
	cmd.Env = append(os.Environ(), chaosRedisEnv+"="+url, chaosDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	return cmd, cmd.Start()
}

// TestChaosShort is the short form of the fault harness: every fault once,
// briefly, against three worker processes. Every job whose enqueue
// returned nil runs (or sits in the dead set as a poison pill), except what
// a Redis SIGKILL loses within the AOF window, and enqueues at maxmemory
// fail with ErrStoreFull.
func TestChaosShort(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Redis and worker processes")
	}
	res, err := Run(context.Background(), Config{
		Dir:          t.TempDir(),
		Workers:      3,
		Rate:         500,
		FaultEvery:   2 * time.Second,
		FaultLength:  time.Second,
		BlackholeFor: 3 * time.Second,
		RedisDown:    500 * time.Millisecond,
		BatchEvery:   4,
		DrainTimeout: time.Minute,
		Spawn:        spawnTestWorker,
	})
	if err != nil {
		t.Fatal(err)
	}
	logBatches(t, res)
	checkCallbacks(t, res)
	exactBatches(t, res)
	t.Logf("enqueued %d of %d, ran %d, duplicates %d, dead %d, lost %d (in the AOF window %d)",
		res.Enqueued, res.Attempts, res.Ran, res.Duplicates, res.Dead, res.Lost, res.LostInAOFWindow)
	for _, f := range res.Faults {
		t.Logf("fault %-11s at %5.1fs..%5.1fs recovery %5.2fs ran during %d, enqueue errors %d (store full %d) %s",
			f.Fault, f.StartS, f.EndS, f.RecoveryS, f.RanDuring, f.EnqueueErrors, f.StoreFull, f.Detail)
	}
	if res.Enqueued == 0 {
		t.Fatal("nothing was enqueued")
	}
	if res.LostOutside != 0 {
		t.Errorf("%d jobs lost outside the AOF window (sample %v)", res.LostOutside, res.LostSample)
	}
	if len(res.Faults) != len(AllFaults()) {
		t.Fatalf("%d faults injected, want %d", len(res.Faults), len(AllFaults()))
	}
	for _, f := range res.Faults {
		if f.Fault == FaultMaxMemory && f.StoreFull == 0 {
			t.Errorf("no enqueue failed with ErrStoreFull at maxmemory (%d errors)", f.EnqueueErrors)
		}
		if f.Fault == FaultMaxMemory && f.StoreFull != f.EnqueueErrors {
			t.Errorf("at maxmemory %d of %d failed enqueues did not say ErrStoreFull", f.EnqueueErrors-f.StoreFull, f.EnqueueErrors)
		}
	}
}

// TestChaosSentinelShort: worker SIGKILL and a Sentinel failover mid-run.
// Nothing may be lost except writes the old master took within the
// window around the failover (async replication; counted, and logged).
func TestChaosSentinelShort(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Redis, a replica, a sentinel and worker processes")
	}
	res, err := Run(context.Background(), Config{
		Dir:          t.TempDir(),
		Sentinel:     true,
		Workers:      2,
		Rate:         500,
		Faults:       []Fault{FaultKillWorker, FaultFailover},
		FaultEvery:   2 * time.Second,
		BatchEvery:   4,
		DrainTimeout: time.Minute,
		Spawn:        spawnTestWorker,
	})
	if err != nil {
		t.Fatal(err)
	}
	logBatches(t, res)
	checkCallbacksAcrossFailover(t, res)
	exactBatchesAcrossFailover(t, res)
	t.Logf("enqueued %d of %d, ran %d, duplicates %d, dead %d, lost %d (near a failover %d)",
		res.Enqueued, res.Attempts, res.Ran, res.Duplicates, res.Dead, res.Lost, res.LostNearFailover)
	for _, f := range res.Faults {
		t.Logf("fault %-11s at %5.1fs..%5.1fs recovery %5.2fs enqueue errors %d %s",
			f.Fault, f.StartS, f.EndS, f.RecoveryS, f.EnqueueErrors, f.Detail)
	}
	if res.Enqueued == 0 {
		t.Fatal("nothing was enqueued")
	}
	if res.LostOutside != 0 {
		t.Errorf("%d jobs lost away from any failover (sample %v)", res.LostOutside, res.LostSample)
	}
	var failedOver bool
	for _, f := range res.Faults {
		failedOver = failedOver || (f.Fault == FaultFailover && strings.Contains(f.Detail, "->"))
	}
	if !failedOver {
		t.Errorf("no failover happened: %+v", res.Faults)
	}
}

// TestChaosClusterShort: a Cluster (three masters, one replica each) with
// CLUSTER FAILOVER and a killed master mid-run, a quarter of the jobs in
// batches. Jobs may be lost only within the window around a failover;
// every batch is verified against its jobs, and every callback a batch
// fired ran.
func TestChaosClusterShort(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Redis Cluster and worker processes")
	}
	res, err := Run(context.Background(), Config{
		Dir:          t.TempDir(),
		Cluster:      true,
		Workers:      2,
		Rate:         400,
		Faults:       []Fault{FaultClusterFailover, FaultKillMaster},
		FaultEvery:   2 * time.Second,
		BatchEvery:   4,
		DrainTimeout: time.Minute,
		Spawn:        spawnTestWorker,
	})
	if err != nil {
		t.Fatal(err)
	}
	logBatches(t, res)
	t.Logf("enqueued %d of %d, ran %d, duplicates %d, dead %d, lost %d (near a failover %d)",
		res.Enqueued, res.Attempts, res.Ran, res.Duplicates, res.Dead, res.Lost, res.LostNearFailover)
	for _, f := range res.Faults {
		t.Logf("fault %-16s at %5.1fs..%5.1fs recovery %5.2fs enqueue errors %d %s",
			f.Fault, f.StartS, f.EndS, f.RecoveryS, f.EnqueueErrors, f.Detail)
	}
	if res.Enqueued == 0 || res.Batches == 0 {
		t.Fatalf("nothing was enqueued (%d jobs, %d batches)", res.Enqueued, res.Batches)
	}
	if res.LostOutside != 0 {
		t.Errorf("%d jobs lost away from any failover (sample %v)", res.LostOutside, res.LostSample)
	}
	for _, f := range res.Faults {
		if !strings.Contains(f.Detail, "->") {
			t.Errorf("fault %s did not fail over: %s", f.Fault, f.Detail)
		}
	}
	checkCallbacks(t, res)
}

// logBatches logs what the batch checks of a run found.
func logBatches(t *testing.T, res *Result) {
	t.Helper()
	t.Logf("batches %d: lost %d (outside a window %d), callbacks of lost batches %d, complete %d, succeeded %d, verified clean %d, problems %d %v; callbacks fired %d, missing %d, unexpected %d, runs %d",
		res.Batches, res.BatchesLost, res.BatchesLostOutside, res.CallbacksOfLostBatches, res.BatchesComplete, res.BatchesSucceeded, res.BatchesClean, res.BatchProblems, res.BatchProblemSample,
		res.CallbacksFired, res.CallbacksMissing, res.CallbacksUnexpected, res.CallbackRuns)
}

// checkCallbacks fails unless every callback a batch fired ran and none
// ran that its batch did not fire.
func checkCallbacks(t *testing.T, res *Result) {
	t.Helper()
	if res.CallbacksMissing != 0 || res.CallbacksUnexpected != 0 {
		t.Errorf("callbacks: %d fired, %d of them never ran, %d ran unfired", res.CallbacksFired, res.CallbacksMissing, res.CallbacksUnexpected)
	}
}

// checkCallbacksAcrossFailover is checkCallbacks for a run with a Sentinel
// failover: every callback a batch's state says fired must have run, but a
// callback may have run for a fire the old master recorded within the
// failover window and the new one never got (asynchronous replication):
// at most the two callbacks of each batch the new master does not show
// complete.
func checkCallbacksAcrossFailover(t *testing.T, res *Result) {
	t.Helper()
	unfinished := res.Batches - res.BatchesLost - res.BatchesComplete
	if res.CallbacksMissing != 0 || res.CallbacksUnexpected > 2*unfinished {
		t.Errorf("callbacks: %d fired, %d of them never ran, %d ran unfired (%d batches not complete after the failover)",
			res.CallbacksFired, res.CallbacksMissing, res.CallbacksUnexpected, unfinished)
	}
}

// exactBatchesAcrossFailover is exactBatches for a run with a Sentinel
// failover: every batch the new master kept must agree with its jobs
// (VerifyBatch finds nothing), but a batch whose commit or last acks the
// old master took within the failover window may stay uncommitted or
// incomplete although its jobs ran, so success is not required of it.
func exactBatchesAcrossFailover(t *testing.T, res *Result) {
	t.Helper()
	if res.Batches == 0 {
		t.Fatal("no batch was committed")
	}
	if res.BatchesLostOutside != 0 {
		t.Errorf("%d batches lost outside any failover or AOF window", res.BatchesLostOutside)
	}
	kept := res.Batches - res.BatchesLost
	if res.BatchesClean != kept || res.BatchProblems != 0 {
		t.Errorf("%d of %d batches disagree with their jobs: %v", kept-res.BatchesClean, kept, res.BatchProblemSample)
	}
	t.Logf("%d of %d kept batches succeeded", res.BatchesSucceeded, kept)
}

// exactBatches: when the run lost no job (a Redis SIGKILL or a failover
// may lose a window of writes, batch state included), every batch agrees
// with its jobs and every batch whose jobs all ran succeeded.
func exactBatches(t *testing.T, res *Result) {
	t.Helper()
	if res.Batches == 0 {
		t.Fatal("no batch was committed")
	}
	if res.Lost != 0 {
		t.Logf("%d jobs lost in a documented window: batch counts not required exact", res.Lost)
		return
	}
	if res.BatchesLostOutside != 0 {
		t.Errorf("%d batches lost outside any failover or AOF window", res.BatchesLostOutside)
	}
	kept := res.Batches - res.BatchesLost
	if res.BatchesClean != kept || res.BatchProblems != 0 {
		t.Errorf("%d of %d batches disagree with their jobs: %v", kept-res.BatchesClean, kept, res.BatchProblemSample)
	}
	if res.Dead == 0 && res.BatchesSucceeded != kept {
		t.Errorf("%d of %d batches succeeded, with every job run and none dead", res.BatchesSucceeded, kept)
	}
}
