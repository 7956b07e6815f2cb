package main

// Every released storage layout keeps a fixture set under
// testdata/layout-vN: a Redis dump (redis.json: each key with its type,
// values and TTL) and an embedded file (joblot.db), both written through
// the public API by the joblot of that layout. TestLayoutFixtures loads
// every set into a fresh store, runs `joblot migrate`, and checks that
// this joblot reads all of it and runs its jobs. A layout change that
// forgets to bump backend.DataModelVersion and add its migration fails
// here. When a layout is released, write its set once with
//
//	go test ./cmd/joblot -run TestLayoutFixtures -write-layout-fixture
//
// and never rewrite an older one.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/bolt"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/redistest"
)

var writeLayoutFixture = flag.Bool("write-layout-fixture", false, "write testdata/layout-vN for the current data model version, then check it")

// fixtureArgs is the fixture's ordinary job.
type fixtureArgs struct {
	N int `json:"n"`
}

func (fixtureArgs) Kind() string { return "fixture.work" }

// fixtureFailArgs fails every attempt, to fill the retry and dead sets.
type fixtureFailArgs struct{}

func (fixtureFailArgs) Kind() string { return "fixture.fail" }

// fixtureDoneArgs is the fixture batch's success callback.
type fixtureDoneArgs struct {
	Batch string `json:"batch"`
}

func (fixtureDoneArgs) Kind() string { return "fixture.done" }

// What every fixture set holds; writeFixture makes it and checkFixture
// expects it.
const (
	fixtureDefault   = 3 // fixture.work jobs queued in "default"
	fixtureMail      = 2 // … in "mail"
	fixtureScheduled = 2 // … scheduled in "default" for 2100
	fixtureBatchJobs = 4 // … in the committed batch, queue "batch"
	fixturePaused    = 1 // … in the paused queue "paused"
	fixtureFailError = "fixture: the smtp relay said no"
	fixtureBatchDesc = "fixture batch"
	// The failing batch has one job that died when the fixture was written
	// (queue "default") and one left to run (queue "batch"); its complete
	// and death callbacks go to queue "callbacks".
	fixtureFailingDesc = "fixture failing batch"
)

func fixtureDir(version int) string {
	return filepath.Join("testdata", fmt.Sprintf("layout-v%d", version))
}

func TestLayoutFixtures(t *testing.T) {
	if *writeLayoutFixture {
		writeFixtureSet(t, fixtureDir(backend.DataModelVersion))
	}
	dirs, _ := filepath.Glob(filepath.Join("testdata", "layout-v*"))
	if !slices.Contains(dirs, fixtureDir(backend.DataModelVersion)) {
		t.Fatalf("no fixture set for the current data model version %d: write it with -write-layout-fixture", backend.DataModelVersion)
	}
	for _, dir := range dirs {
		version, err := strconv.Atoi(strings.TrimPrefix(filepath.Base(dir), "layout-v"))
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		t.Run(filepath.Base(dir)+"/redis", func(t *testing.T) {
			srv := redistest.Start(t)
			loadRedisDump(t, redisClient(t, srv), filepath.Join(dir, "redis.json"))
			checkFixture(t, version, []string{"--redis", srv.URL}, func(t *testing.T) backend.Backend {
				b, err := redis.Open(context.Background(), redis.Options{URL: srv.URL})
				if err != nil {
					t.Fatal(err)
				}
				return b
			})
		})
		t.Run(filepath.Base(dir)+"/file", func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "joblot.db")
			raw, err := os.ReadFile(filepath.Join(dir, "joblot.db"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, raw, 0o600); err != nil {
				t.Fatal(err)
			}
			checkFixture(t, version, []string{"--db", path}, func(t *testing.T) backend.Backend {
				b, err := bolt.Open(path, bolt.Options{NoSync: true, NoLocalEndpoint: true})
				if err != nil {
					t.Fatal(err)
				}
				return b
			})
		})
	}
}

// checkFixture migrates a loaded fixture set of the given version and
// checks its contents through the CLI, then runs its jobs with a server.
func checkFixture(t *testing.T, version int, store []string, open func(*testing.T) backend.Backend) {
	res := decode(t, mustRun(t, args(store, "migrate", "--json")...))
	if got := len(res["steps"].([]any)); got != backend.DataModelVersion-version {
		t.Errorf("migrate from v%d: %d steps, want %d: %v", version, got, backend.DataModelVersion-version, res)
	}
	if res := decode(t, mustRun(t, args(store, "migrate", "--json")...)); len(res["steps"].([]any)) != 0 || num(t, res, "version") != backend.DataModelVersion {
		t.Errorf("a second migrate is not a no-op: %v", res)
	}

	var queues []backend.QueueStats
	if err := json.Unmarshal([]byte(mustRun(t, args(store, "queues", "--json")...)), &queues); err != nil {
		t.Fatal(err)
	}
	want := map[string]backend.QueueStats{
		"default": {Size: fixtureDefault, Scheduled: fixtureScheduled, Retry: 1, Dead: 2},
		"mail":    {Size: fixtureMail},
		"batch":   {Size: fixtureBatchJobs + 1},
		"paused":  {Size: fixturePaused, Paused: true},
	}
	for _, q := range queues {
		if q.Name == "callbacks" && q.Size <= 1 {
			continue // the death callback, if it was forwarded before the writer stopped
		}
		w, ok := want[q.Name]
		if !ok {
			t.Errorf("unexpected queue %+v", q)
			continue
		}
		delete(want, q.Name)
		if q.Size != w.Size || q.Scheduled != w.Scheduled || q.Retry != w.Retry || q.Dead != w.Dead || q.Paused != w.Paused || q.InFlight != 0 {
			t.Errorf("queue %s: %+v, want %+v", q.Name, q, w)
		}
	}
	if len(want) > 0 {
		t.Errorf("queues missing: %v", want)
	}
	if out := mustRun(t, args(store, "dead", "list", "--error", "smtp relay")...); strings.Count(out, "fixture.fail") != 2 {
		t.Errorf("dead list does not show the fixture's two dead jobs:\n%s", out)
	}
	var list []*backend.BatchStatus
	if err := json.Unmarshal([]byte(mustRun(t, args(store, "batch", "list", "--json")...)), &list); err != nil || len(list) != 2 {
		t.Fatalf("batch list: %v, %v", list, err)
	}
	// A fixture outlives its batches: past a batch's expiry (an unfinished
	// batch lives DefaultBatchHorizon after its last event, one with a
	// death the dead set's age cap) the janitor deletes it, and it fires no
	// further callbacks. Which batches are past it depends on the
	// fixture's age, so the run below expects what each one's ExpiresAt says.
	// A batch that expires within the hour could expire during the run
	// (on the store's clock, which the test does not drive): its outcome
	// would depend on how long the run takes, so the run is skipped then.
	now := time.Now()
	ids := map[string]string{}
	expired := map[string]bool{}
	for _, st := range list {
		ids[st.Description] = st.ID
		if !st.ExpiresAt.IsZero() && !st.ExpiresAt.Before(now) && st.ExpiresAt.Before(now.Add(time.Hour)) {
			t.Skipf("fixture batch %q expires at %v, within the hour: its outcome would depend on timing", st.Description, st.ExpiresAt)
		}
		expired[st.Description] = !st.ExpiresAt.IsZero() && st.ExpiresAt.Before(now)
		switch st.Description {
		case fixtureBatchDesc:
			if st.Total != fixtureBatchJobs || st.Pending != fixtureBatchJobs || st.State != backend.BatchRunning {
				t.Errorf("fixture batch: %+v", st)
			}
		case fixtureFailingDesc:
			if st.Total != 2 || st.Pending != 1 || st.Dead != 1 || st.State != backend.BatchRunning ||
				len(st.ErrorGroups) != 1 || st.ErrorGroups[0].Count != 1 || !strings.Contains(st.ErrorGroups[0].Message, "smtp relay") {
				t.Errorf("failing batch: %+v", st)
			}
		default:
			t.Errorf("unexpected batch %+v", st)
		}
	}

	// The current joblot runs what the old one stored: every queued job
	// once, and each callback once, after its batch's jobs.
	b := open(t)
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var (
		mu        sync.Mutex
		runs      = map[string]int{}
		callbacks = map[string]int{}
	)
	workers := joblot.NewWorkers()
	joblot.AddWorker(workers, joblot.WorkFunc[fixtureArgs](func(ctx context.Context, job *joblot.Job[fixtureArgs]) error {
		mu.Lock()
		defer mu.Unlock()
		runs[job.Queue]++
		return nil
	}), nil)
	joblot.AddWorker(workers, joblot.WorkFunc[fixtureFailArgs](func(context.Context, *joblot.Job[fixtureFailArgs]) error {
		return errors.New(fixtureFailError)
	}), nil)
	joblot.AddWorker(workers, joblot.WorkFunc[fixtureDoneArgs](func(ctx context.Context, job *joblot.Job[fixtureDoneArgs]) error {
		mu.Lock()
		defer mu.Unlock()
		callbacks[job.Args.Batch+" of "+job.CallbackOf]++
		return nil
	}), nil)
	if expired[fixtureBatchDesc] || expired[fixtureFailingDesc] {
		// Expire them now, before any of their jobs runs, as a server's
		// janitor would first thing.
		if _, err := b.ForwardCallbacks(ctx, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	srv, err := joblot.NewServer(b, joblot.ServerConfig{
		Workers: workers, Queues: map[string]int{"default": 1, "mail": 1, "batch": 1, "paused": 1, "callbacks": 1},
		PollInterval: 20 * time.Millisecond, ForwardInterval: 20 * time.Millisecond, IdleFetchInterval: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer srv.Stop(context.Background())
	wantCallbacks := map[string]int{}
	if !expired[fixtureBatchDesc] {
		wantCallbacks[fixtureBatchDesc+" of "+ids[fixtureBatchDesc]] = 1
	}
	deathKey := fixtureFailingDesc + " death of " + ids[fixtureFailingDesc]
	if !expired[fixtureFailingDesc] {
		wantCallbacks[deathKey] = 1
		wantCallbacks[fixtureFailingDesc+" complete of "+ids[fixtureFailingDesc]] = 1
	}
	in := joblot.NewInspector(b)
	waitFor(t, ctx, "the fixture's jobs and callbacks to run", func() bool {
		st, err := in.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range st.Queues {
			if q.Name != "paused" && (q.Size > 0 || q.InFlight > 0) {
				return false
			}
		}
		mu.Lock()
		defer mu.Unlock()
		for k := range wantCallbacks {
			if callbacks[k] == 0 {
				return false
			}
		}
		return true
	})
	mu.Lock()
	gotRuns := map[string]int{"default": runs["default"], "mail": runs["mail"], "batch": runs["batch"], "paused": runs["paused"]}
	gotCallbacks := maps.Clone(callbacks)
	mu.Unlock()
	if expired[fixtureFailingDesc] && gotCallbacks[deathKey] == 1 {
		// Its death callback may have been enqueued before the fixture
		// was saved; then it runs, once, expired batch or not.
		delete(gotCallbacks, deathKey)
	}
	if wantRuns := map[string]int{"default": fixtureDefault, "mail": fixtureMail, "batch": fixtureBatchJobs + 1, "paused": 0}; !maps.Equal(gotRuns, wantRuns) {
		t.Errorf("runs per queue: %v, want %v", gotRuns, wantRuns)
	}
	if !maps.Equal(gotCallbacks, wantCallbacks) {
		t.Errorf("callbacks run: %v, want %v", gotCallbacks, wantCallbacks)
	}
	if st, err := in.Batch(ctx, ids[fixtureBatchDesc]); !expired[fixtureBatchDesc] && (err != nil || st.State != backend.BatchSucceeded || st.Succeeded != fixtureBatchJobs) {
		t.Errorf("fixture batch after the run: %+v, %v", st, err)
	}
	if st, err := in.Batch(ctx, ids[fixtureFailingDesc]); !expired[fixtureFailingDesc] && (err != nil || st.State != backend.BatchComplete || st.Succeeded != 1 || st.Dead != 1) {
		t.Errorf("failing batch after the run: %+v, %v", st, err)
	}
	if err := in.ResumeQueue(ctx, "paused"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "the paused queue's job to run once resumed", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return runs["paused"] == fixturePaused
	})
}

// writeFixtureSet writes the fixture through the public API into a fresh
// Redis and a fresh file, then saves both under dir.
func writeFixtureSet(t *testing.T, dir string) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	srv := redistest.Start(t)
	rb, err := redis.Open(context.Background(), redis.Options{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	writeFixture(t, rb)
	rb.Close()
	saveRedisDump(t, redisClient(t, srv), filepath.Join(dir, "redis.json"))

	path := filepath.Join(dir, "joblot.db")
	os.Remove(path)
	fb, err := bolt.Open(path, bolt.Options{NoLocalEndpoint: true})
	if err != nil {
		t.Fatal(err)
	}
	writeFixture(t, fb)
	if err := fb.Close(); err != nil {
		t.Fatal(err)
	}
}

// writeFixture stores what checkFixture expects. The failing jobs run on a
// server (so the retry and dead sets hold what a server writes); the rest
// is only enqueued.
func writeFixture(t *testing.T, b backend.Backend) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := joblot.NewClient(b, joblot.ClientConfig{})
	in := joblot.NewInspector(b)

	onQueue := joblot.EnqueueOpts{Queue: "callbacks"}
	failing, err := c.NewBatch(ctx, joblot.BatchOpts{
		Description: fixtureFailingDesc,
		OnComplete:  &joblot.Callback{Args: fixtureDoneArgs{Batch: fixtureFailingDesc + " complete"}, Opts: onQueue},
		OnDeath:     &joblot.Callback{Args: fixtureDoneArgs{Batch: fixtureFailingDesc + " death"}, Opts: onQueue},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := failing.Add(ctx,
		joblot.EnqueueParams{Args: fixtureFailArgs{}, Opts: joblot.EnqueueOpts{MaxRetries: joblot.NoRetries}},
		joblot.EnqueueParams{Args: fixtureArgs{N: -1}, Opts: joblot.EnqueueOpts{Queue: "batch"}},
	); err != nil {
		t.Fatal(err)
	}
	if err := failing.Commit(ctx); err != nil {
		t.Fatal(err)
	}

	workers := joblot.NewWorkers()
	joblot.AddWorker(workers, joblot.WorkFunc[fixtureFailArgs](func(context.Context, *joblot.Job[fixtureFailArgs]) error {
		return errors.New(fixtureFailError)
	}), nil)
	srv, err := joblot.NewServer(b, joblot.ServerConfig{Workers: workers, Queues: map[string]int{"default": 1}, IdleFetchInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	for _, retries := range []int{joblot.NoRetries, 5} {
		if _, err := c.Enqueue(ctx, fixtureFailArgs{}, &joblot.EnqueueOpts{MaxRetries: retries}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, ctx, "two dead jobs and one retrying", func() bool {
		st, err := in.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range st.Queues {
			if q.Name == "default" {
				return q.Dead == 2 && q.Retry == 1 && q.Size == 0 && q.InFlight == 0
			}
		}
		return false
	})
	if err := srv.Stop(ctx); err != nil {
		t.Fatal(err)
	}

	var params []joblot.EnqueueParams
	for i := range fixtureDefault {
		params = append(params, joblot.EnqueueParams{Args: fixtureArgs{N: i}})
	}
	for i := range fixtureMail {
		params = append(params, joblot.EnqueueParams{Args: fixtureArgs{N: i}, Opts: joblot.EnqueueOpts{Queue: "mail"}})
	}
	for i := range fixtureScheduled {
		params = append(params, joblot.EnqueueParams{Args: fixtureArgs{N: i}, Opts: joblot.EnqueueOpts{RunAt: time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)}})
	}
	for i := range fixturePaused {
		params = append(params, joblot.EnqueueParams{Args: fixtureArgs{N: i}, Opts: joblot.EnqueueOpts{Queue: "paused"}})
	}
	if _, err := c.EnqueueMany(ctx, params); err != nil {
		t.Fatal(err)
	}
	if err := in.PauseQueue(ctx, "paused"); err != nil {
		t.Fatal(err)
	}

	batch, err := c.NewBatch(ctx, joblot.BatchOpts{Description: fixtureBatchDesc, OnSuccess: &joblot.Callback{Args: fixtureDoneArgs{Batch: fixtureBatchDesc}}})
	if err != nil {
		t.Fatal(err)
	}
	params = params[:0]
	for i := range fixtureBatchJobs {
		params = append(params, joblot.EnqueueParams{Args: fixtureArgs{N: i}, Opts: joblot.EnqueueOpts{Queue: "batch"}})
	}
	if err := batch.Add(ctx, params...); err != nil {
		t.Fatal(err)
	}
	if err := batch.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// redisKeyDump is one key of a Redis dump: values are base64, in the order
// the type's read command returns them (HGETALL: field, value, …; ZRANGE
// WITHSCORES: member, score, …).
type redisKeyDump struct {
	Key    string   `json:"key"`
	Type   string   `json:"type"`
	TTLms  int64    `json:"ttl_ms,omitempty"`
	Values []string `json:"values"`
}

// saveRedisDump writes every key of the server to path. Keys that expire
// within a minute (leases, heartbeats) are left out: they belong to the
// processes that wrote the fixture, not to its data.
func saveRedisDump(t *testing.T, c rueidis.Client, path string) {
	keys, err := redisDo(t, c, "KEYS", "*").AsStrSlice()
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	var dump []redisKeyDump
	for _, k := range keys {
		ttl, err := redisDo(t, c, "PTTL", k).AsInt64()
		if err != nil {
			t.Fatal(err)
		}
		if ttl >= 0 && ttl < 60_000 {
			continue
		}
		typ, err := redisDo(t, c, "TYPE", k).ToString()
		if err != nil {
			t.Fatal(err)
		}
		var vals []string
		switch typ {
		case "string":
			v, err := redisDo(t, c, "GET", k).ToString()
			if err != nil {
				t.Fatal(err)
			}
			vals = []string{v}
		case "hash":
			m, err := redisDo(t, c, "HGETALL", k).AsStrMap()
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range slices.Sorted(maps.Keys(m)) {
				vals = append(vals, f, m[f])
			}
		case "list":
			vals, err = redisDo(t, c, "LRANGE", k, "0", "-1").AsStrSlice()
		case "set":
			vals, err = redisDo(t, c, "SMEMBERS", k).AsStrSlice()
			slices.Sort(vals)
		case "zset":
			var zs []rueidis.ZScore
			zs, err = redisDo(t, c, "ZRANGE", k, "0", "-1", "WITHSCORES").AsZScores()
			for _, z := range zs {
				vals = append(vals, z.Member, strconv.FormatFloat(z.Score, 'f', -1, 64))
			}
		default:
			t.Fatalf("key %s has type %s, which the fixture dump does not know", k, typ)
		}
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		d := redisKeyDump{Key: k, Type: typ, Values: make([]string, len(vals))}
		if ttl > 0 {
			d.TTLms = ttl
		}
		for i, v := range vals {
			d.Values[i] = base64.StdEncoding.EncodeToString([]byte(v))
		}
		dump = append(dump, d)
	}
	out, err := json.MarshalIndent(dump, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(out, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

// loadRedisDump recreates the keys of a dump, TTLs counted from now.
func loadRedisDump(t *testing.T, c rueidis.Client, path string) {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var dump []redisKeyDump
	if err := json.Unmarshal(raw, &dump); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, d := range dump {
		vals := make([]string, len(d.Values))
		for i, v := range d.Values {
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				t.Fatalf("%s %s: %v", path, d.Key, err)
			}
			vals[i] = string(b)
		}
		switch d.Type {
		case "string":
			redisDo(t, c, "SET", d.Key, vals[0])
		case "hash":
			redisDo(t, c, append([]string{"HSET", d.Key}, vals...)...)
		case "list":
			redisDo(t, c, append([]string{"RPUSH", d.Key}, vals...)...)
		case "set":
			redisDo(t, c, append([]string{"SADD", d.Key}, vals...)...)
		case "zset":
			args := []string{"ZADD", d.Key}
			for i := 0; i+1 < len(vals); i += 2 {
				args = append(args, vals[i+1], vals[i])
			}
			redisDo(t, c, args...)
		default:
			t.Fatalf("%s: key %s has unknown type %s", path, d.Key, d.Type)
		}
		if d.TTLms > 0 {
			redisDo(t, c, "PEXPIRE", d.Key, strconv.FormatInt(d.TTLms, 10))
		}
	}
}
