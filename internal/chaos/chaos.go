// Package chaos is the fault harness behind `joblot chaos`: a producer and
// several worker processes run bench jobs against a private Redis (AOF on,
// appendfsync everysec) behind a fault proxy, while the harness kills
// workers and Redis, breaks the network and fills Redis up; a ledger kept
// outside the system under test then shows what was lost or run twice, and
// the ledger's growth how long each fault took to recover from.
package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/benchrun"
	"github.com/joblot/joblot/internal/faultproxy"
	"github.com/joblot/joblot/internal/redistest"
)

// Fault names one fault the chaos harness injects.
type Fault string

// The faults, in the order of the harness's default plan.
const (
	// FaultKillWorker SIGKILLs a random worker process and starts a
	// replacement at once.
	FaultKillWorker Fault = "kill-worker"
	// FaultKillRedis SIGKILLs Redis (AOF on, appendfsync everysec) and
	// restarts it on the same port and directory after RedisDown.
	FaultKillRedis Fault = "kill-redis"
	// FaultLatency adds SpikeLatency to every chunk between the workers
	// and Redis for FaultLength.
	FaultLatency Fault = "latency"
	// FaultReset resets every connection between the workers and Redis.
	FaultReset Fault = "reset"
	// FaultBlackhole lets nothing pass between the workers and Redis for
	// BlackholeFor, refusing nothing either.
	FaultBlackhole Fault = "blackhole"
	// FaultHalfOpen leaves every connection between the workers and Redis
	// open and silent forever: only client timeouts notice.
	FaultHalfOpen Fault = "half-open"
	// FaultMaxMemory sets Redis's maxmemory below its used memory for
	// FaultLength: enqueues must fail with ErrStoreFull, and nothing may
	// be lost.
	FaultMaxMemory Fault = "maxmemory"
	// FaultFailover (Sentinel only) has the sentinel promote the replica
	// (SENTINEL FAILOVER) once it is in sync, and waits until the sentinel
	// reports the new master.
	FaultFailover Fault = "failover"
	// FaultClusterFailover (Cluster only) sends CLUSTER FAILOVER to the
	// replica of a random master once it is in sync, and waits until it
	// is the master.
	FaultClusterFailover Fault = "cluster-failover"
	// FaultKillMaster (Cluster only) SIGKILLs a random master, waits until
	// its replica took over (after the cluster node timeout), then
	// restarts the old master from its AOF and waits until it is the new
	// master's replica, in sync.
	FaultKillMaster Fault = "kill-master"
)

// ClusterFaults returns the faults a Cluster run can inject (the clients
// follow the cluster's topology, so no proxy sits in their path).
func ClusterFaults() []Fault { return []Fault{FaultKillWorker, FaultClusterFailover, FaultKillMaster} }

// SentinelFaults returns the faults a Sentinel run can inject: the
// workers find the master through the sentinel, so no proxy sits in their
// path.
func SentinelFaults() []Fault { return []Fault{FaultKillWorker, FaultFailover} }

// AllFaults returns the faults of a standalone run, in the order of the
// default plan.
func AllFaults() []Fault {
	return []Fault{FaultKillWorker, FaultKillRedis, FaultLatency, FaultReset, FaultBlackhole, FaultHalfOpen, FaultMaxMemory}
}

// The defaults of Config's fields.
const (
	// DefaultWorkers is Config.Workers' default.
	DefaultWorkers = 3
	// DefaultRate is Config.Rate's default, in jobs per second.
	DefaultRate = 2000
	// DefaultFaultEvery is Config.FaultEvery's default.
	DefaultFaultEvery = 5 * time.Second
	// DefaultFaultLength is Config.FaultLength's default.
	DefaultFaultLength = 3 * time.Second
	// DefaultBlackholeFor is Config.BlackholeFor's default.
	DefaultBlackholeFor = 10 * time.Second
	// DefaultRedisDown is Config.RedisDown's default.
	DefaultRedisDown = time.Second
	// DefaultSpikeLatency is Config.SpikeLatency's default.
	DefaultSpikeLatency = 200 * time.Millisecond
	// DefaultDrainTimeout is Config.DrainTimeout's default.
	DefaultDrainTimeout = 3 * time.Minute
	// chaosTick is the producer's and the sampler's period.
	chaosTick = 50 * time.Millisecond
	// recoveredShare is the share of the pre-fault throughput at which a
	// fault counts as recovered from.
	recoveredShare = 0.5
	// rateWindow is the window throughput is measured over.
	rateWindow = time.Second
	// workerStatsFresh is the least age at which a worker's stats log
	// counts as a dead worker's.
	workerStatsFresh = 15 * time.Second
)

// Config is one run of the fault harness.
type Config struct {
	// Dir holds the ledger, Redis's files and the workers' logs; it must
	// not record an earlier run.
	Dir string
	// Workers is how many worker processes run (default 3).
	Workers int
	// Rate is the jobs per second the producer offers, open loop
	// (default 2000).
	Rate int
	// Faults are injected one after the other, FaultEvery apart, starting
	// FaultEvery after the start (default AllFaults, or SentinelFaults); the plan repeats
	// until Duration is over. Produce runs for at least one full plan
	// unless Duration is set.
	Faults []Fault
	// Duration is how long the producer runs (default: long enough for
	// one pass over Faults).
	Duration time.Duration
	// FaultEvery is the quiet time before each fault (default 5 s).
	FaultEvery time.Duration
	// FaultLength is how long a latency spike or maxmemory lasts
	// (default 3 s).
	FaultLength time.Duration
	// BlackholeFor is how long a blackhole lasts (default 10 s).
	BlackholeFor time.Duration
	// RedisDown is how long Redis stays dead after its SIGKILL
	// (default 1 s).
	RedisDown time.Duration
	// SpikeLatency is the latency of a spike (default 200 ms).
	SpikeLatency time.Duration
	// DrainTimeout bounds the wait for the last jobs after the producer
	// stopped (default 3 min).
	DrainTimeout time.Duration
	// SampleEvery, when > 0, records Go heap, goroutines (of the harness
	// and, through their stats logs, of the workers) and Redis used_memory
	// this often: the soak report.
	SampleEvery time.Duration
	// Sentinel runs a master, a replica and a sentinel (quorum 1) instead
	// of one Redis; the producer and the workers use the sentinel's URL.
	Sentinel bool
	// Cluster runs a Redis Cluster of three masters, each with a replica
	// (AOF on everywhere, cluster node timeout ClusterNodeTimeout); the
	// producer and the workers use the cluster's URL.
	Cluster bool
	// BatchEvery, when > 0, makes every BatchEvery-th producer tick's jobs
	// one batch (created, added, committed, with complete and success
	// callbacks) instead of plain jobs; at the end every batch is
	// verified (backend.VerifyBatch) and its state counted.
	BatchEvery int
	// Spawn starts one worker process that runs bench jobs from the Redis
	// at redisURL and logs them to the ledger in dir (see Work). The
	// harness SIGKILLs it or sends it SIGTERM at the end.
	Spawn func(redisURL, dir string) (*exec.Cmd, error)
	// Logger receives progress (default: discard).
	Logger *slog.Logger
}

func (c Config) withDefaults() (Config, error) {
	if c.Dir == "" {
		return c, errors.New("chaos: a directory is required")
	}
	if c.Spawn == nil {
		return c, errors.New("chaos: Spawn is required")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if c.Workers <= 0 {
		c.Workers = DefaultWorkers
	}
	if c.Rate <= 0 {
		c.Rate = DefaultRate
	}
	known := AllFaults()
	if c.Sentinel {
		known = SentinelFaults()
	}
	if c.Cluster {
		known = ClusterFaults()
	}
	if c.Sentinel && c.Cluster {
		return c, errors.New("chaos: Sentinel and Cluster are exclusive")
	}
	if c.Faults == nil {
		c.Faults = known
	}
	def(&c.FaultEvery, DefaultFaultEvery)
	def(&c.FaultLength, DefaultFaultLength)
	def(&c.BlackholeFor, DefaultBlackholeFor)
	def(&c.RedisDown, DefaultRedisDown)
	def(&c.SpikeLatency, DefaultSpikeLatency)
	def(&c.DrainTimeout, DefaultDrainTimeout)
	if c.Duration <= 0 {
		for _, f := range c.Faults {
			c.Duration += c.FaultEvery + c.faultLength(f)
		}
		c.Duration += c.FaultEvery
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	for _, f := range c.Faults {
		if !slices.Contains(known, f) {
			return c, fmt.Errorf("chaos: unknown fault %q (known: %v)", f, known)
		}
	}
	return c, nil
}

func (c Config) faultLength(f Fault) time.Duration {
	switch f {
	case FaultBlackhole:
		return c.BlackholeFor
	case FaultKillRedis:
		return c.RedisDown
	case FaultLatency, FaultMaxMemory:
		return c.FaultLength
	}
	return 0
}

// FaultReport is what one injected fault did.
type FaultReport struct {
	Fault Fault `json:"fault"`
	// StartS and EndS are seconds since the run's start.
	StartS float64 `json:"start_s"`
	EndS   float64 `json:"end_s"`
	// RecoveryS is the time from the fault's end until the workers' job
	// rate (over a 1 s window) was back to half its rate before the
	// fault; -1 if it never was before the next fault.
	RecoveryS float64 `json:"recovery_s"`
	// EnqueueErrors counts producer enqueue calls that failed during the
	// fault and until the next one; StoreFull those that failed with
	// ErrStoreFull.
	EnqueueErrors int64 `json:"enqueue_errors"`
	StoreFull     int64 `json:"store_full"`
	// RanDuring counts job runs the ledger gained between the fault's
	// start and end (at maxmemory: do acks still drain?).
	RanDuring int64 `json:"ran_during"`
	// Detail is a fault-specific note (connections reset, etc.).
	Detail string `json:"detail,omitempty"`
}

// SoakSample is one soak measurement.
type SoakSample struct {
	AtS               float64 `json:"at_s"`
	HeapBytes         uint64  `json:"heap_bytes"`
	Goroutines        int     `json:"goroutines"`
	WorkerHeapBytes   uint64  `json:"worker_heap_bytes"`
	WorkerGoroutines  int     `json:"worker_goroutines"`
	RedisUsedMemory   int64   `json:"redis_used_memory"`
	Ran               int64   `json:"ran_bytes"`
	EnqueuedSoFar     int64   `json:"enqueued"`
	RedisRestartCount int     `json:"redis_restarts"`
}

// Result is the outcome of a harness run.
type Result struct {
	Workers  int     `json:"workers"`
	Rate     int     `json:"rate"`
	Seconds  float64 `json:"seconds"`
	Attempts int64   `json:"enqueue_attempts"`
	// Enqueued counts jobs whose enqueue returned nil: the ones that must
	// not be lost.
	Enqueued   int64 `json:"enqueued"`
	Ran        int64 `json:"ran"`
	Duplicates int64 `json:"duplicates"`
	// Dead counts enqueued jobs that never ran but sit in the dead set
	// (poison pills: killed under three times).
	Dead int64 `json:"dead"`
	// Lost counts enqueued jobs that neither ran nor sit in the dead set.
	Lost int64 `json:"lost"`
	// LostInAOFWindow counts the lost jobs whose enqueue returned within
	// AOFWindow before a Redis SIGKILL: what appendfsync everysec may
	// lose. LostOutside is the rest, which must be 0.
	LostInAOFWindow int64 `json:"lost_in_aof_window"`
	LostOutside     int64 `json:"lost_outside_window"`
	// MaxLossBeforeKillS is the longest time between a lost job's enqueue
	// returning and the next Redis SIGKILL: the measured loss window.
	MaxLossBeforeKillS float64 `json:"max_loss_before_kill_s"`
	// LostNearFailover counts lost jobs whose enqueue returned within
	// AOFWindow of a Sentinel failover's span (writes the old master took
	// before the replica had them, or after the replica's promotion and
	// before the client followed it); they are not in LostOutside, but
	// they are losses the docs must own.
	LostNearFailover int64   `json:"lost_near_failover"`
	LostSample       []int64 `json:"lost_sample,omitempty"`
	// Batches counts the batches committed (BatchEvery); BatchesSucceeded
	// those whose success fired, BatchesComplete those complete (success
	// included); BatchesClean those VerifyBatch found in agreement with
	// their jobs, and BatchProblems the disagreements it found in the
	// others (BatchProblemSample: a few, with their batch); BatchesLost
	// those the store no longer knows (created and committed within a
	// window a failover or a crash lost), BatchesLostOutside those of them
	// committed outside every such window (must be 0).
	Batches            int      `json:"batches"`
	BatchesComplete    int      `json:"batches_complete"`
	BatchesSucceeded   int      `json:"batches_succeeded"`
	BatchesClean       int      `json:"batches_clean"`
	BatchesLost        int      `json:"batches_lost"`
	BatchesLostOutside int      `json:"batches_lost_outside_window"`
	BatchProblems      int      `json:"batch_problems"`
	BatchProblemSample []string `json:"batch_problem_sample,omitempty"`
	// CallbacksFired counts the callbacks the batches' states say fired;
	// CallbacksMissing those of them that never ran, CallbacksUnexpected
	// callbacks that ran for an event their batch did not fire, and
	// CallbackRuns every run (a callback may run twice when a worker is
	// killed during it: at least once).
	CallbacksFired      int `json:"callbacks_fired"`
	CallbacksMissing    int `json:"callbacks_missing"`
	CallbacksUnexpected int `json:"callbacks_unexpected"`
	// CallbacksOfLostBatches counts callbacks that ran for a lost batch
	// (fired on an old master before it was demoted).
	CallbacksOfLostBatches int           `json:"callbacks_of_lost_batches"`
	CallbackRuns           int64         `json:"callback_runs"`
	Faults                 []FaultReport `json:"faults"`
	Samples                []SoakSample  `json:"samples,omitempty"`
	WorkerSpawns           int           `json:"worker_spawns"`
}

// AOFWindow is the loss window the harness allows after a Redis SIGKILL
// with appendfsync everysec: Redis fsyncs once a second, and postpones an
// fsync up to another second while the previous one is still running.
const AOFWindow = 2 * time.Second

// chaos is one harness run's state.
type chaos struct {
	cfg   Config
	start time.Time
	redis *redistest.Server
	proxy *faultproxy.Proxy
	b     backend.Backend
	cl    *joblot.Client

	mu      sync.Mutex
	workers []*exec.Cmd
	spawns  int
	kills   []time.Time // Redis SIGKILL instants
	// failovers are the spans of Sentinel failovers: from the request
	// until the sentinel reported the new master.
	failovers [][2]time.Time
	sentinel  *redistest.Sentinel
	cluster   *redistest.Cluster
	// batches are the batches the producer committed, and when.
	batches  []committedBatch
	replica  *redistest.Server
	url      string
	restarts int
	// enqAt[n] is when job n's enqueue returned nil (0: it did not).
	enqAt   []int64
	next    atomic.Int64
	errs    atomic.Int64
	full    atomic.Int64
	samples []rateSample
	// marks are the producer's error and store-full counts at each
	// fault's start.
	marks [][2]int64
}

type rateSample struct {
	at    time.Time
	bytes int64
}

// Run runs producers and worker processes against a private Redis
// (AOF on, appendfsync everysec) behind a fault proxy, injects the
// configured faults, then checks the ledger: every job whose enqueue
// returned nil ran (or sits in the dead set), except jobs a Redis SIGKILL
// lost within the AOF window.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := benchrun.CheckFresh(cfg.Dir); err != nil {
		return nil, err
	}
	rdir := filepath.Join(cfg.Dir, "redis")
	if err := os.MkdirAll(rdir, 0o755); err != nil {
		return nil, fmt.Errorf("chaos: %w", err)
	}
	aof := []string{"--appendonly", "yes", "--appendfsync", "everysec", "--repl-diskless-sync-delay", "0"}
	srv, err := redistest.StartServer(rdir, redistest.Options{Args: aof})
	if err != nil {
		return nil, fmt.Errorf("chaos: %w", err)
	}
	defer srv.Stop()
	proxy, err := faultproxy.Start(srv.Addr)
	if err != nil {
		return nil, err
	}
	defer proxy.Close()
	c := &chaos{cfg: cfg, redis: srv, proxy: proxy, url: "redis://" + proxy.Addr()}
	producerURL := srv.URL
	if cfg.Sentinel {
		if err := c.startSentinel(aof); err != nil {
			return nil, err
		}
		defer c.replica.Stop()
		defer c.sentinel.Stop()
		producerURL, c.url = c.sentinel.URL, c.sentinel.URL
	}
	if cfg.Cluster {
		cl, err := redistest.StartClusterServers(filepath.Join(cfg.Dir, "cluster"), redistest.ClusterOptions{
			Masters: clusterMasters, Replicas: 1, NodeTimeout: ClusterNodeTimeout, Args: aof})
		if err != nil {
			return nil, fmt.Errorf("chaos: %w", err)
		}
		defer cl.Stop()
		c.cluster = cl
		producerURL, c.url = cl.URL, cl.URL
	}
	b, err := redis.Open(ctx, redis.Options{URL: producerURL, Logger: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("chaos: %w", err)
	}
	defer b.Close()
	c.b, c.cl = b, joblot.NewClient(b, joblot.ClientConfig{})
	maxJobs := int64(cfg.Rate)*int64((cfg.Duration+time.Second)/time.Second) + int64(cfg.Rate)
	c.enqAt = make([]int64, maxJobs)
	for range cfg.Workers {
		if err := c.spawn(); err != nil {
			c.stopWorkers(syscall.SIGKILL)
			return nil, err
		}
	}
	defer c.stopWorkers(syscall.SIGKILL)
	c.start = time.Now()
	res := &Result{Workers: cfg.Workers, Rate: cfg.Rate}

	pctx, stopProducing := context.WithTimeout(ctx, cfg.Duration)
	defer stopProducing()
	var wg sync.WaitGroup
	wg.Add(1)
	produced := make(chan struct{})
	go func() { defer close(produced); c.produce(pctx) }()
	sampled := make(chan []SoakSample, 1)
	sctx, stopSampling := context.WithCancel(ctx)
	defer stopSampling()
	go func() { defer wg.Done(); sampled <- c.sample(sctx) }()

	res.Faults = c.injectAll(pctx)
	<-produced
	if err := ctx.Err(); err != nil {
		stopSampling()
		wg.Wait()
		return nil, err
	}
	if err := benchrun.WriteEnqueued(cfg.Dir, c.next.Load()); err != nil {
		return nil, err
	}
	v, dead, err := c.drain(ctx)
	stopSampling()
	wg.Wait()
	res.Samples = <-sampled
	if err != nil {
		return nil, err
	}
	if err := c.checkBatches(ctx, res); err != nil {
		return nil, err
	}
	c.stopWorkers(syscall.SIGTERM)
	c.fillRecovery(res.Faults)

	res.Seconds = time.Since(c.start).Seconds()
	res.Attempts = c.next.Load()
	res.Ran, res.Duplicates, res.Dead = v.Ran, v.Duplicates, int64(len(dead))
	res.WorkerSpawns = c.spawns
	for n := range res.Attempts {
		at := c.enqAt[n]
		if at == 0 {
			continue
		}
		res.Enqueued++
		if v.Seen.Has(n) || dead[n] {
			continue
		}
		res.Lost++
		if len(res.LostSample) < 20 {
			res.LostSample = append(res.LostSample, n)
		}
		if nearFailover(c.failovers, time.Unix(0, at)) {
			res.LostNearFailover++
			continue
		}
		if gap, ok := firstAfter(c.kills, time.Unix(0, at)); ok {
			res.MaxLossBeforeKillS = max(res.MaxLossBeforeKillS, gap.Seconds())
			if gap <= AOFWindow {
				res.LostInAOFWindow++
				continue
			}
		}
		res.LostOutside++
	}
	return res, nil
}

// nearFailover reports whether at lies within AOFWindow of a failover's
// span: writes the old master acknowledged before the promoted replica had
// them, or after the promotion, before the client followed the switch.
func nearFailover(spans [][2]time.Time, at time.Time) bool {
	for _, f := range spans {
		if !at.Before(f[0].Add(-AOFWindow)) && !at.After(f[1].Add(AOFWindow)) {
			return true
		}
	}
	return false
}

// firstAfter returns how long after at the first of events (in order)
// came.
func firstAfter(events []time.Time, at time.Time) (time.Duration, bool) {
	for _, k := range events {
		if !k.Before(at) {
			return k.Sub(at), true
		}
	}
	return 0, false
}

func (c *chaos) spawn() error {
	cmd, err := c.cfg.Spawn(c.url, c.cfg.Dir)
	if err != nil {
		return fmt.Errorf("chaos: spawn worker: %w", err)
	}
	c.mu.Lock()
	c.workers = append(c.workers, cmd)
	c.spawns++
	c.mu.Unlock()
	return nil
}

// stopWorkers signals every worker and waits for it; SIGTERM lets a
// worker stop gracefully, so a worker that does not stop within a minute
// is killed.
func (c *chaos) stopWorkers(sig syscall.Signal) {
	c.mu.Lock()
	ws := c.workers
	c.workers = nil
	c.mu.Unlock()
	for _, w := range ws {
		_ = w.Process.Signal(sig)
		done := make(chan struct{})
		go func() { _, _ = w.Process.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(time.Minute):
			_ = w.Process.Kill()
			<-done
		}
	}
}

// produce enqueues Rate jobs a second, in one EnqueueMany per tick, until
// ctx ends, recording when each call returned nil.
func (c *chaos) produce(ctx context.Context) {
	tick := time.NewTicker(chaosTick)
	defer tick.Stop()
	perTick := max(1, c.cfg.Rate*int(chaosTick/time.Millisecond)/1000)
	for tickN := 1; ; tickN++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		first := c.next.Load()
		if first+int64(perTick) > int64(len(c.enqAt)) {
			return
		}
		c.next.Add(int64(perTick))
		now := time.Now().UnixNano()
		params := make([]joblot.EnqueueParams, perTick)
		for i := range params {
			params[i] = joblot.EnqueueParams{Args: benchrun.Args{N: first + int64(i), T: now}, Opts: joblot.EnqueueOpts{Queue: benchrun.DefaultQueue}}
		}
		// A call cut short by the end of the run is not an enqueue that
		// returned nil; a fresh context keeps the outcome honest.
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var err error
		if c.cfg.BatchEvery > 0 && tickN%c.cfg.BatchEvery == 0 {
			err = c.enqueueBatch(cctx, params)
		} else {
			_, err = c.cl.EnqueueMany(cctx, params)
		}
		cancel()
		if err != nil {
			c.errs.Add(1)
			if errors.Is(err, joblot.ErrStoreFull) {
				c.full.Add(1)
			}
			continue
		}
		done := time.Now().UnixNano()
		for i := range params {
			c.enqAt[first+int64(i)] = done
		}
	}
}

// sample records the ledger's growth for recovery times and, with
// SampleEvery, the soak figures, until ctx ends.
func (c *chaos) sample(ctx context.Context) []SoakSample {
	tick := time.NewTicker(chaosTick)
	defer tick.Stop()
	var soak []SoakSample
	var lastSoak time.Time
	for {
		select {
		case <-ctx.Done():
			return soak
		case now := <-tick.C:
			bytes := benchrun.RanLogBytes(c.cfg.Dir)
			c.mu.Lock()
			c.samples = append(c.samples, rateSample{at: now, bytes: bytes})
			restarts := c.restarts
			c.mu.Unlock()
			if c.cfg.SampleEvery <= 0 || now.Sub(lastSoak) < c.cfg.SampleEvery {
				continue
			}
			lastSoak = now
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			s := SoakSample{
				AtS: now.Sub(c.start).Seconds(), HeapBytes: ms.HeapAlloc, Goroutines: runtime.NumGoroutine(),
				Ran: bytes, EnqueuedSoFar: c.next.Load(), RedisRestartCount: restarts,
			}
			if v, err := c.redis.Info("used_memory"); err == nil {
				s.RedisUsedMemory, _ = strconv.ParseInt(v, 10, 64)
			}
			s.WorkerHeapBytes, s.WorkerGoroutines = readWorkerStats(c.cfg.Dir, max(3*c.cfg.SampleEvery, workerStatsFresh))
			soak = append(soak, s)
			c.cfg.Logger.Info("chaos: soak sample", "at_s", s.AtS, "heap", s.HeapBytes, "goroutines", s.Goroutines,
				"worker_heap", s.WorkerHeapBytes, "worker_goroutines", s.WorkerGoroutines, "redis_used_memory", s.RedisUsedMemory)
		}
	}
}

// injectAll runs the fault plan until ctx ends.
func (c *chaos) injectAll(ctx context.Context) []FaultReport {
	var reps []FaultReport
	for i := 0; ; i++ {
		f := c.cfg.Faults[i%len(c.cfg.Faults)]
		select {
		case <-ctx.Done():
			return reps
		case <-time.After(c.cfg.FaultEvery):
		}
		if ctx.Err() != nil {
			return reps
		}
		c.mu.Lock()
		c.marks = append(c.marks, [2]int64{c.errs.Load(), c.full.Load()})
		c.mu.Unlock()
		rep := FaultReport{Fault: f, StartS: time.Since(c.start).Seconds()}
		c.cfg.Logger.Info("chaos: fault", "fault", f, "at_s", rep.StartS)
		runs0 := c.runs()
		rep.Detail = c.inject(ctx, f)
		rep.EndS = time.Since(c.start).Seconds()
		rep.RanDuring = c.runs() - runs0
		reps = append(reps, rep)
	}
}

// runs counts the job runs in the ledger so far (duplicates included).
func (c *chaos) runs() int64 {
	s, err := benchrun.ScanRanLogs(c.cfg.Dir, c.next.Load())
	if err != nil {
		return 0
	}
	return s.Ran + s.Duplicates
}

// inject performs one fault and returns when it is over.
func (c *chaos) inject(ctx context.Context, f Fault) string {
	wait := func(d time.Duration) {
		select {
		case <-ctx.Done():
		case <-time.After(d):
		}
	}
	switch f {
	case FaultKillWorker:
		c.mu.Lock()
		i := rand.IntN(len(c.workers))
		w := c.workers[i]
		c.workers = slices.Delete(c.workers, i, i+1)
		c.mu.Unlock()
		_ = w.Process.Signal(syscall.SIGKILL)
		_, _ = w.Process.Wait()
		if err := c.spawn(); err != nil {
			return err.Error()
		}
		return fmt.Sprintf("killed pid %d", w.Process.Pid)
	case FaultKillRedis:
		c.mu.Lock()
		c.kills = append(c.kills, time.Now())
		c.mu.Unlock()
		if err := c.redis.Kill(); err != nil {
			return err.Error()
		}
		wait(c.cfg.RedisDown)
		if err := c.redis.Restart(); err != nil {
			return err.Error()
		}
		c.mu.Lock()
		c.restarts++
		c.mu.Unlock()
		return ""
	case FaultLatency:
		c.proxy.SetLatency(c.cfg.SpikeLatency)
		wait(c.cfg.FaultLength)
		c.proxy.SetLatency(0)
		return fmt.Sprintf("+%s per chunk", c.cfg.SpikeLatency)
	case FaultReset:
		return fmt.Sprintf("%d connections reset", c.proxy.ResetAll())
	case FaultBlackhole:
		c.proxy.Blackhole()
		wait(c.cfg.BlackholeFor)
		c.proxy.Lift()
		return c.cfg.BlackholeFor.String()
	case FaultHalfOpen:
		return fmt.Sprintf("%d connections left half-open", c.proxy.HalfOpenAll())
	case FaultFailover:
		return c.failover(ctx)
	case FaultClusterFailover, FaultKillMaster:
		return c.clusterFailover(f == FaultKillMaster)
	case FaultMaxMemory:
		used, err := c.redis.Info("used_memory")
		if err != nil {
			return err.Error()
		}
		n, _ := strconv.ParseInt(used, 10, 64)
		if _, err := c.redis.Do("CONFIG", "SET", "maxmemory", strconv.FormatInt(max(1, n/2), 10)); err != nil {
			return err.Error()
		}
		// Full for FaultLength, and at least until the producer has seen
		// the store refuse an enqueue (a busy machine may be slow to try).
		full0 := c.full.Load()
		wait(c.cfg.FaultLength)
		for deadline := time.Now().Add(time.Minute); c.full.Load() == full0 && time.Now().Before(deadline) && ctx.Err() == nil; {
			wait(chaosTick)
		}
		if _, err := c.redis.Do("CONFIG", "SET", "maxmemory", "0"); err != nil {
			return err.Error()
		}
		return fmt.Sprintf("maxmemory %d (used %d)", max(1, n/2), n)
	}
	return ""
}

// fillRecovery computes each fault's recovery time from the samples.
func (c *chaos) fillRecovery(reps []FaultReport) {
	c.mu.Lock()
	ss := c.samples
	c.mu.Unlock()
	rateAt := func(i int) (float64, bool) {
		for j := i; j >= 0; j-- {
			if d := ss[i].at.Sub(ss[j].at); d >= rateWindow {
				return float64(ss[i].bytes-ss[j].bytes) / d.Seconds(), true
			}
		}
		return 0, false
	}
	for k := range reps {
		r := &reps[k]
		until := [2]int64{c.errs.Load(), c.full.Load()}
		if k+1 < len(c.marks) {
			until = c.marks[k+1]
		}
		r.EnqueueErrors, r.StoreFull = until[0]-c.marks[k][0], until[1]-c.marks[k][1]
		start := c.start.Add(time.Duration(r.StartS * float64(time.Second)))
		end := c.start.Add(time.Duration(r.EndS * float64(time.Second)))
		limit := time.Now()
		if k+1 < len(reps) {
			limit = c.start.Add(time.Duration(reps[k+1].StartS * float64(time.Second)))
		}
		var before float64
		for i := range ss {
			if !ss[i].at.After(start) {
				if v, ok := rateAt(i); ok {
					before = v
				}
			}
		}
		r.RecoveryS = -1
		if before <= 0 {
			continue
		}
		for i := range ss {
			if ss[i].at.Before(end.Add(rateWindow)) || ss[i].at.After(limit) {
				continue
			}
			// The window must lie wholly after the fault's end.
			if v, ok := rateAt(i); ok && v >= recoveredShare*before {
				r.RecoveryS = ss[i].at.Sub(end).Seconds() - rateWindow.Seconds()
				if r.RecoveryS < 0 {
					r.RecoveryS = 0
				}
				break
			}
		}
	}
}

// drain waits until every enqueued job ran or sits in the dead set, or
// until nothing moves for DrainTimeout.
func (c *chaos) drain(ctx context.Context) (benchrun.LedgerScan, map[int64]bool, error) {
	n := c.next.Load()
	want := int64(0)
	for i := range n {
		if c.enqAt[i] != 0 {
			want++
		}
	}
	deadline := time.Now().Add(c.cfg.DrainTimeout)
	last := int64(-1)
	for {
		s, err := benchrun.ScanRanLogs(c.cfg.Dir, n)
		if err != nil {
			return s, nil, err
		}
		dead, err := c.deadJobs(ctx, s.Seen)
		if err != nil {
			c.cfg.Logger.Warn("chaos: list dead set", "err", err)
		}
		got := int64(0)
		for i := range n {
			if c.enqAt[i] != 0 && (s.Seen.Has(i) || dead[i]) {
				got++
			}
		}
		if got == want || time.Now().After(deadline) {
			return s, dead, nil
		}
		// Jobs are missing. If the store holds nothing left to run (the
		// count was taken before this look), they are lost: waiting longer
		// changes nothing.
		if got == last && c.storeEmpty(ctx) {
			return s, dead, nil
		}
		last = got
		select {
		case <-ctx.Done():
			return s, dead, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// storeEmpty reports whether the bench queue holds no job queued, in
// flight, scheduled or waiting to retry.
func (c *chaos) storeEmpty(ctx context.Context) bool {
	st, err := c.b.Stats(ctx, time.Now())
	if err != nil {
		return false
	}
	for _, q := range st.Queues {
		if q.Name == benchrun.DefaultQueue && q.Size+q.InFlight+q.Scheduled+q.Retry > 0 {
			return false
		}
	}
	return true
}

// deadJobs returns the numbers of bench jobs in the dead set that never ran.
func (c *chaos) deadJobs(ctx context.Context, seen *benchrun.Bitmap) (map[int64]bool, error) {
	dead := map[int64]bool{}
	var cursor string
	for {
		page, err := c.b.ListJobs(ctx, backend.JobFilter{Set: backend.SetDead, Limit: 1000, Cursor: cursor})
		if err != nil {
			return dead, err
		}
		for _, j := range page.Jobs {
			var a benchrun.Args
			if json.Unmarshal(j.Args, &a) == nil && !seen.Has(a.N) {
				dead[a.N] = true
			}
		}
		if page.Next == "" {
			return dead, nil
		}
		cursor = page.Next
	}
}

// readWorkerStats sums the last stats line of every worker whose log was
// written within fresh (killed workers' logs go stale).
func readWorkerStats(dir string, fresh time.Duration) (heap uint64, goroutines int) {
	files, _ := filepath.Glob(filepath.Join(dir, benchrun.StatsPrefix+"*.log"))
	for _, p := range files {
		fi, err := os.Stat(p)
		if err != nil || time.Since(fi.ModTime()) > fresh {
			continue
		}
		raw, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
		f := strings.Fields(lines[len(lines)-1])
		if len(f) != 3 {
			continue
		}
		h, _ := strconv.ParseUint(f[1], 10, 64)
		g, _ := strconv.Atoi(f[2])
		heap += h
		goroutines += g
	}
	return heap, goroutines
}

// startSentinel starts a replica of c.redis and a sentinel over both.
func (c *chaos) startSentinel(aof []string) error {
	host, port, _ := strings.Cut(c.redis.Addr, ":")
	rdir := filepath.Join(c.cfg.Dir, "replica")
	sdir := filepath.Join(c.cfg.Dir, "sentinel")
	for _, d := range []string{rdir, sdir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("chaos: %w", err)
		}
	}
	rep, err := redistest.StartServer(rdir, redistest.Options{Args: append(slices.Clone(aof), "--replicaof", host, port)})
	if err != nil {
		return fmt.Errorf("chaos: replica: %w", err)
	}
	sen, err := redistest.StartSentinelServer(sdir, c.redis)
	if err != nil {
		rep.Stop()
		return fmt.Errorf("chaos: sentinel: %w", err)
	}
	c.replica, c.sentinel = rep, sen
	return nil
}

// failoverTimeout bounds each wait of a failover: generous, as a busy
// machine slows the sentinel's rounds.
const failoverTimeout = 2 * time.Minute

// failover waits until the sentinel sees a replica in sync, asks it to
// fail over, and waits until it reports another master.
func (c *chaos) failover(ctx context.Context) string {
	poll := func(what string, cond func() (bool, error)) error {
		deadline := time.Now().Add(failoverTimeout)
		for {
			ok, err := cond()
			if ok {
				return nil
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				return fmt.Errorf("%s: %v", what, err)
			}
			time.Sleep(chaosTick)
		}
	}
	before, err := c.sentinel.MasterState()
	if err != nil {
		return err.Error()
	}
	old := before["ip"] + ":" + before["port"]
	if err := poll("a replica in sync", func() (bool, error) {
		out, err := c.sentinel.Do("SENTINEL", "REPLICAS", redistest.SentinelMasterName)
		return err == nil && strings.Contains(out, "master-link-status\nok"), err
	}); err != nil {
		return err.Error()
	}
	asked := time.Now()
	if _, err := c.sentinel.Do("SENTINEL", "FAILOVER", redistest.SentinelMasterName); err != nil {
		return err.Error()
	}
	var now string
	if err := poll("the sentinel to report a new master", func() (bool, error) {
		st, err := c.sentinel.MasterState()
		if err != nil {
			return false, err
		}
		now = st["ip"] + ":" + st["port"]
		return now != old, nil
	}); err != nil {
		return err.Error()
	}
	c.mu.Lock()
	c.failovers = append(c.failovers, [2]time.Time{asked, time.Now()})
	c.mu.Unlock()
	return fmt.Sprintf("master %s -> %s", old, now)
}

// clusterMasters is the number of masters of a Cluster run.
const clusterMasters = 3

// ClusterNodeTimeout is the cluster node timeout of a Cluster run: how
// long a killed master stays unreplaced.
const ClusterNodeTimeout = 2 * time.Second

// enqueueBatch enqueues one tick's jobs as one batch with complete and
// success callbacks (run by the workers, logged to the callback ledger).
// The jobs count as enqueued only when the batch is committed.
func (c *chaos) enqueueBatch(ctx context.Context, params []joblot.EnqueueParams) error {
	cb := func() *joblot.Callback {
		return &joblot.Callback{Args: benchrun.CallbackArgs{}, Opts: joblot.EnqueueOpts{Queue: benchrun.DefaultQueue}}
	}
	b, err := c.cl.NewBatch(ctx, joblot.BatchOpts{Description: "joblot chaos", OnComplete: cb(), OnSuccess: cb()})
	if err != nil {
		return err
	}
	if err := b.Add(ctx, params...); err != nil {
		return err
	}
	if err := b.Commit(ctx); err != nil {
		return err
	}
	c.mu.Lock()
	c.batches = append(c.batches, committedBatch{id: b.ID(), at: time.Now()})
	c.mu.Unlock()
	return nil
}

// committedBatch is a batch the producer committed, and when the commit
// returned.
type committedBatch struct {
	id string
	at time.Time
}

// inLossWindow reports whether a write acknowledged at at lies in a
// window the run may lose: near a failover, or within AOFWindow before a
// Redis SIGKILL.
func (c *chaos) inLossWindow(at time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if nearFailover(c.failovers, at) {
		return true
	}
	gap, ok := firstAfter(c.kills, at)
	return ok && gap <= AOFWindow
}

// callbackWait bounds the wait for the callbacks of batches that fired
// them after the last job ran.
const callbackWait = time.Minute

// checkBatches counts the producer's batches by state, verifies each
// against its jobs (backend.VerifyBatch, no repair), and counts the
// callback runs in the callback ledger, waiting up to callbackWait for
// the callbacks of the batches that fired them.
func (c *chaos) checkBatches(ctx context.Context, res *Result) error {
	c.mu.Lock()
	batches := slices.Clone(c.batches)
	c.mu.Unlock()
	res.Batches = len(batches)
	if len(batches) == 0 {
		return nil
	}
	fired := map[string]bool{} // "<event> <batch>" of each callback fired
	lost := map[string]bool{}
	for _, cb := range batches {
		id := cb.id
		st, err := c.b.BatchStatus(ctx, id)
		if errors.Is(err, backend.ErrBatchNotFound) {
			// The store lost it: all its writes were within a window a
			// failover (the old master's last writes) or a crash lost.
			// Its jobs may still have run, fetched from the old master.
			res.BatchesLost++
			lost[id] = true
			if !c.inLossWindow(cb.at) {
				res.BatchesLostOutside++
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("chaos: batch %s: %w", id, err)
		}
		if !st.CompleteAt.IsZero() {
			res.BatchesComplete++
			fired[string(backend.CallbackComplete)+" "+id] = true
		}
		if !st.SuccessAt.IsZero() {
			res.BatchesSucceeded++
			fired[string(backend.CallbackSuccess)+" "+id] = true
		}
		v, err := c.b.VerifyBatch(ctx, backend.VerifyBatchParams{ID: id})
		if err != nil {
			return fmt.Errorf("chaos: verify batch %s: %w", id, err)
		}
		if v.Clean() {
			res.BatchesClean++
			continue
		}
		res.BatchProblems += v.ProblemCount
		for _, p := range v.Problems {
			if len(res.BatchProblemSample) < 10 {
				res.BatchProblemSample = append(res.BatchProblemSample, fmt.Sprintf("%s: %s job %d %s->%s", id, p.Kind, p.Index, p.State, p.Repaired))
			}
		}
	}
	deadline := time.Now().Add(callbackWait)
	for {
		runs, err := benchrun.ScanCallbackLogs(c.cfg.Dir)
		if err != nil {
			return err
		}
		missing := 0
		for k := range fired {
			if runs[k] == 0 {
				missing++
			}
		}
		if missing == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			res.CallbacksFired, res.CallbacksMissing = len(fired), missing
			for k, n := range runs {
				_, batch, _ := strings.Cut(k, " ")
				switch {
				case lost[batch]:
					res.CallbacksOfLostBatches++
				case !fired[k]:
					res.CallbacksUnexpected++
				}
				res.CallbackRuns += int64(n)
			}
			return nil
		}
		time.Sleep(chaosTick)
	}
}

// clusterFailover moves a random master's slots to its replica, by
// CLUSTER FAILOVER on the replica or, with kill, by SIGKILLing the master
// (its replica takes over after the node timeout; the old master is then
// restarted from its AOF and rejoins as a replica). The span recorded is
// from the request (or kill) until the replica is master: writes the old
// master acknowledged just before may be lost with it (asynchronous
// replication), and count in LostNearFailover.
func (c *chaos) clusterFailover(kill bool) string {
	cl := c.cluster
	i := rand.IntN(len(cl.Nodes))
	m, r := cl.Nodes[i], cl.Replicas[i]
	if err := redistest.WaitRole(r, "slave", failoverTimeout); err != nil {
		return err.Error()
	}
	asked := time.Now()
	if kill {
		if err := m.Kill(); err != nil {
			return err.Error()
		}
	} else if _, err := r.Do("CLUSTER", "FAILOVER"); err != nil {
		return err.Error()
	}
	if err := redistest.WaitRole(r, "master", failoverTimeout); err != nil {
		return err.Error()
	}
	promoted := time.Now()
	c.mu.Lock()
	c.failovers = append(c.failovers, [2]time.Time{asked, promoted})
	c.mu.Unlock()
	if kill {
		if err := m.Restart(); err != nil {
			return err.Error()
		}
	}
	if err := redistest.WaitRole(m, "slave", failoverTimeout); err != nil {
		return err.Error()
	}
	if err := cl.Promote(i, i); err != nil {
		return err.Error()
	}
	how := "CLUSTER FAILOVER"
	if kill {
		how = "SIGKILL"
	}
	return fmt.Sprintf("%s: master %s -> %s in %.2fs, old master back as a replica after %.2fs", how, m.Addr, r.Addr,
		promoted.Sub(asked).Seconds(), time.Since(asked).Seconds())
}
