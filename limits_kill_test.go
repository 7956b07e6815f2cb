package joblot

import (
	"bufio"
	"context"
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

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/redistest"
)

// The limit kill test: three worker processes share a limit of 5 on one
// key while one of them is SIGKILLed holding slots. Each job records that
// it runs in a set of its process (outside the system under test, in keys
// joblot never touches), so the test sees how many run at once across the
// processes; a killed process's set is dropped once it is dead, while the
// store still counts its slots until they are recovered, so what the test
// sees never exceeds what the store allows.

const (
	limitChildEnv  = "JOBLOT_LIMITTEST_CHILD" // the child's tag
	limitLimit     = 5
	limitTestQueue = "limited"
)

// limitTestKeys are the test's own keys: the set of jobs running in the
// process tagged tag, the set of those sets, the most seen at once.
func limitRunning(tag string) string { return "limittest:running:" + tag }

const (
	limitSets = "limittest:sets"
	limitMost = "limittest:most"
)

// limitEnter adds a job to its process's running set and records the
// most running at once, atomically.
var limitEnter = rueidis.NewLuaScript(`
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], KEYS[1])
local total = 0
for _, k in ipairs(redis.call('SMEMBERS', KEYS[2])) do total = total + redis.call('SCARD', k) end
if total > (tonumber(redis.call('GET', KEYS[3])) or 0) then redis.call('SET', KEYS[3], total) end
return total`)

// runLimitChild is a worker process of the limit kill test.
func runLimitChild() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	tag := os.Getenv(limitChildEnv)
	url := os.Getenv(killRedisEnv)
	b, err := redis.Open(ctx, redis.Options{URL: url})
	if err != nil {
		fmt.Fprintln(os.Stderr, "limit child: open:", err)
		os.Exit(2)
	}
	opt, err := rueidis.ParseURL(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "limit child:", err)
		os.Exit(2)
	}
	opt.DisableCache = true
	rc, err := rueidis.NewClient(opt)
	if err != nil {
		fmt.Fprintln(os.Stderr, "limit child: redis:", err)
		os.Exit(2)
	}
	ledger, err := os.OpenFile(os.Getenv(killLedgerEnv), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		fmt.Fprintln(os.Stderr, "limit child: ledger:", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	ws := NewWorkers()
	AddWorker(ws, WorkFunc[customerArgs](func(ctx context.Context, j *Job[customerArgs]) error {
		id := strconv.Itoa(j.Args.N)
		if err := limitEnter.Exec(ctx, rc, []string{limitRunning(tag), limitSets, limitMost}, []string{id}).Error(); err != nil {
			return err
		}
		time.Sleep(time.Duration(20+rand.IntN(60)) * time.Millisecond) // the work: long beside an ack, so that 5 run at once, and to be killed holding it
		mu.Lock()
		_, err := fmt.Fprintf(ledger, "%d\n", j.Args.N)
		mu.Unlock()
		if err != nil {
			return err
		}
		return rc.Do(ctx, rc.B().Srem().Key(limitRunning(tag)).Member(id).Build()).Error()
	}), nil)
	cfg := ServerConfig{
		Workers:           ws,
		Queues:            map[string]int{limitTestQueue: 1},
		QueueLimits:       map[string]QueueLimits{limitTestQueue: {Concurrency: limitLimit, By: LimitByKey}},
		Concurrency:       10,
		HeartbeatInterval: 200 * time.Millisecond,
		// Long enough that a heartbeat delayed on a busy machine does not
		// get a live process's slots recovered (then its job and the
		// recovered copy would both run, as at-least-once allows).
		ProcessTTL:        3 * time.Second,
		RecoverInterval:   200 * time.Millisecond,
		PollInterval:      100 * time.Millisecond,
		IdleFetchInterval: 20 * time.Millisecond,
	}
	s, err := NewServer(b, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "limit child:", err)
		os.Exit(2)
	}
	if err := s.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "limit child: run:", err)
		os.Exit(2)
	}
}

// TestQueueLimitSIGKILLedHolder: 3 processes, a limit of 5 on one key.
// At most 5 jobs run at once across them, and 5 do; a process SIGKILLed
// while it holds slots gets them back by recovery (none is held at the
// end), and every job runs.
func TestQueueLimitSIGKILLedHolder(t *testing.T) {
	const jobs, workers = 150, 3
	srv := redistest.Start(t)
	dir := t.TempDir()
	ctx := context.Background()
	b, err := redis.Open(ctx, redis.Options{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	opt, err := rueidis.ParseURL(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	opt.DisableCache = true
	rc, err := rueidis.NewClient(opt)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	client := NewClient(b, ClientConfig{})
	params := make([]EnqueueParams, jobs)
	for i := range params {
		params[i] = EnqueueParams{Args: customerArgs{Customer: "acme", N: i}, Opts: EnqueueOpts{Queue: limitTestQueue}}
	}
	if _, err := client.EnqueueMany(ctx, params); err != nil {
		t.Fatal(err)
	}

	spawned := 0
	tags := make([]string, workers)
	spawn := func(i int) *exec.Cmd {
		spawned++
		tags[i] = strconv.Itoa(spawned)
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), limitChildEnv+"="+tags[i], killRedisEnv+"="+srv.URL,
			killLedgerEnv+"="+filepath.Join(dir, "ran-"+tags[i]+".log"))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	procs := make([]*exec.Cmd, workers)
	for i := range procs {
		procs[i] = spawn(i)
	}
	defer func() {
		for _, p := range procs {
			_ = p.Process.Kill()
			_, _ = p.Process.Wait()
		}
	}()
	scard := func(key string) int64 {
		n, _ := rc.Do(ctx, rc.B().Scard().Key(key).Build()).AsInt64()
		return n
	}
	ran := func() map[int]int {
		counts := map[int]int{}
		files, _ := filepath.Glob(filepath.Join(dir, "ran-*.log"))
		for _, name := range files {
			f, err := os.Open(name)
			if err != nil {
				continue
			}
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				if n, err := strconv.Atoi(sc.Text()); err == nil {
					counts[n]++
				}
			}
			f.Close()
		}
		return counts
	}

	// Kill a process while it holds slots: once it is dead, its running
	// set shows what it held.
	killed := int64(0)
	for attempt := 0; killed == 0 && attempt < 20; attempt++ {
		i := -1
		if !pollUntil(killTestTimeout, func() bool {
			for k, tag := range tags {
				if scard(limitRunning(tag)) > 0 {
					i = k
					return true
				}
			}
			return len(ran()) == jobs
		}) || i < 0 {
			break
		}
		_ = procs[i].Process.Signal(syscall.SIGKILL)
		_, _ = procs[i].Process.Wait()
		killed = scard(limitRunning(tags[i]))
		// Dead: its jobs run no more, though the store holds their slots
		// until they are recovered.
		if err := rc.Do(ctx, rc.B().Del().Key(limitRunning(tags[i])).Build()).Error(); err != nil {
			t.Fatal(err)
		}
		procs[i] = spawn(i)
	}
	if killed == 0 {
		t.Fatalf("never killed a process while it held a slot")
	}

	if !pollUntil(killTestTimeout, func() bool { return len(ran()) == jobs }) {
		t.Fatalf("%d of %d jobs ran (the killed process held %d slots)", len(ran()), jobs, killed)
	}
	if !pollUntil(killTestTimeout, func() bool {
		st, err := client.Stats(ctx)
		if err != nil {
			return false
		}
		q, _ := st.Queue(limitTestQueue)
		return q.Size == 0 && q.InFlight == 0 && q.Limit != nil && len(q.Limit.Groups) == 0
	}) {
		st, _ := client.Stats(ctx)
		q, _ := st.Queue(limitTestQueue)
		t.Fatalf("slots still held at the end: %+v", q.Limit)
	}
	most, err := rc.Do(ctx, rc.B().Get().Key(limitMost).Build()).AsInt64()
	if err != nil {
		t.Fatal(err)
	}
	if most != limitLimit {
		t.Fatalf("most jobs running at once across the processes: %d, want exactly %d", most, limitLimit)
	}
	t.Logf("killed a process holding %d slots; most running at once: %d", killed, most)
}
