// Package cleanup removes data that Redis no longer needs, family by family,
// without blocking Redis and without touching any key outside the chosen
// families.
//
// Targets:
//
//   - SidekiqFailinfo: legacy Sidekiq Pro "b-<bid>-failinfo" hashes (one
//     entry per failed job, kept for weeks; docs/data-model.md tells the incident).
//   - Batches: joblot batch keys "{jl:b:<id>}:*" of batches that are gone
//     (meta key missing) or finished long ago with no TTL left to expire
//     them, and "jl:batches" index entries whose meta is gone.
//   - Processes: "jl:proc:<id>" info hashes of processes absent from
//     "jl:procs". In-flight hashes "{jl:q:*}:wip:<proc>" of such processes
//     hold jobs: they are never removed, only reported (Redis deletes an
//     empty hash, so an existing wip hash is never empty).
//   - DeadJobs: jobs of "{jl:q:*}:dead" beyond a per-queue count cap or
//     older than an age cap, oldest first, counted in the queue's stats.
//   - JobOutputs: every job output and progress record ("{jl:out}:*",
//     bounded by the backend's own lifetime and byte cap), for an operator
//     who wants that memory back now.
//
// A key is a target's only if both its name and its Redis type are the
// family's (and, for failinfo, its sampled entries look like Sidekiq Pro's:
// jid fields, JSON values). A key named like one but otherwise foreign is
// kept, reported (TargetResult.Kept) and the run goes on.
//
// Plan (or Run without Apply) is a dry run: it reports what would be
// removed, with bytes estimated by MEMORY USAGE, and writes nothing. Run
// with Apply removes with UNLINK (Redis frees big values in a background
// thread) in chunks of ChunkSize at no more than Rate keys (or dead jobs)
// per second, pausing between calls.
//
// Resuming: cleanup keeps no cursor. Every removal is decided from the
// current state and re-checked atomically where the keys share a slot, and
// removing a removed key is a no-op, so running again after an
// interruption finishes the work: it re-scans key names (cheap) but never
// redoes a removal. A stored SCAN cursor was rejected: it would be a key
// outside the chosen families, written during what may be a memory
// emergency, and it silently skips keys after a restart or failover, when
// the server's hash table is laid out anew.
package cleanup

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/keyspace"
	"github.com/joblot/joblot/internal/memreport"
	"github.com/joblot/joblot/internal/rediskeys"
)

// Target names a family of data to clean up.
type Target string

// Targets.
const (
	SidekiqFailinfo Target = "sidekiq-failinfo"
	Batches         Target = "batches"
	Processes       Target = "processes"
	DeadJobs        Target = "dead-jobs"
	JobOutputs      Target = "job-outputs"
)

// AllTargets lists every target.
func AllTargets() []Target {
	return []Target{SidekiqFailinfo, Batches, Processes, DeadJobs, JobOutputs}
}

// Defaults for Options.
const (
	DefaultRate         = 1000
	DefaultChunkSize    = 100
	DefaultScanCount    = 100
	DefaultPause        = time.Millisecond
	DefaultIndexGrace   = time.Hour
	DefaultProcessGrace = 10 * time.Minute
)

// Options choose what to clean and how fast.
type Options struct {
	// Targets to clean; at least one.
	Targets []Target
	// Apply removes; without it Run is a dry run.
	Apply bool
	// Rate caps removals per second: keys, or dead jobs for DeadJobs
	// (default 1000).
	Rate int
	// ChunkSize is the number of keys per UNLINK, or dead jobs per trim
	// call (default 100).
	ChunkSize int
	// ScanCount is SCAN's COUNT (default 100).
	ScanCount int
	// Pause is slept between two calls (default 1ms; negative: none).
	Pause time.Duration
	// Now is the time used for ages (default time.Now()).
	Now time.Time

	// SuccessLinger and BatchHorizon are the batch TTLs the backend uses
	// (defaults backend.DefaultSuccessLinger and DefaultBatchHorizon); a
	// batch that holds dead jobs lives DeadMaxAge (default
	// backend.DefaultDeadMaxAge) unless DeadMaxAge is set here.
	SuccessLinger, BatchHorizon time.Duration
	// IndexGrace keeps jl:batches entries younger than this even when
	// their meta is missing: the index and the batch live in different
	// slots, so a batch being created may be indexed a moment before its
	// meta exists (default 1h).
	IndexGrace time.Duration
	// ProcessGrace keeps a jl:proc:<id> hash written (or read by its
	// owner) less than this long ago, as a process may be registering
	// right now (default 10m; negative: no grace). It relies on OBJECT
	// IDLETIME, which Redis refuses under an LFU maxmemory-policy; such
	// hashes are then kept and reported.
	ProcessGrace time.Duration

	// DeadMaxJobs keeps at most this many dead jobs per queue (0: no count
	// cap). DeadMaxAge removes dead jobs older than this (0: no age cap).
	// DeadJobs needs at least one of them.
	DeadMaxJobs int64
	DeadMaxAge  time.Duration

	// Progress, if set, is called after each SCAN batch and each removal.
	Progress func(Progress)
	// Keys is the joblot key layout to clean (the zero Layout: the
	// default prefix). Keys of another prefix are never touched.
	Keys rediskeys.Layout
}

// Progress is a snapshot of a running cleanup.
type Progress struct {
	// Scanned key names of DBSize (summed over primaries).
	Scanned, DBSize int64
	// Keys and Members removed (or, in a dry run, found) so far, and the
	// bytes they hold.
	Keys, Members, Bytes int64
}

func (o Options) withDefaults() (Options, error) {
	if len(o.Targets) == 0 {
		return o, fmt.Errorf("cleanup: no target chosen (choose from %v)", AllTargets())
	}
	for _, t := range o.Targets {
		if !slices.Contains(AllTargets(), t) {
			return o, fmt.Errorf("cleanup: unknown target %q (choose from %v)", t, AllTargets())
		}
	}
	if slices.Contains(o.Targets, DeadJobs) && o.DeadMaxJobs <= 0 && o.DeadMaxAge <= 0 {
		return o, fmt.Errorf("cleanup: target %s needs DeadMaxJobs or DeadMaxAge", DeadJobs)
	}
	if o.Rate < 0 || o.ChunkSize < 0 || o.ScanCount < 0 || o.DeadMaxJobs < 0 || o.DeadMaxAge < 0 {
		return o, fmt.Errorf("cleanup: negative rate, chunk size, scan count or cap")
	}
	if o.Rate == 0 {
		o.Rate = DefaultRate
	}
	if o.ChunkSize == 0 {
		o.ChunkSize = DefaultChunkSize
	}
	if o.ScanCount == 0 {
		o.ScanCount = DefaultScanCount
	}
	if o.Pause == 0 {
		o.Pause = DefaultPause
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.SuccessLinger == 0 {
		o.SuccessLinger = backend.DefaultSuccessLinger
	}
	if o.BatchHorizon == 0 {
		o.BatchHorizon = backend.DefaultBatchHorizon
	}
	if o.IndexGrace == 0 {
		o.IndexGrace = DefaultIndexGrace
	}
	if o.ProcessGrace == 0 {
		o.ProcessGrace = DefaultProcessGrace
	}
	return o, nil
}

// Result says what a cleanup removed (Apply) or would remove (dry run).
type Result struct {
	Applied bool `json:"applied"`
	// Scanned is the number of key names SCAN returned.
	Scanned int64          `json:"scanned"`
	Targets []TargetResult `json:"targets"`
	// Elapsed is how long the run took (the CLI prints it as elapsed_ms).
	Elapsed time.Duration `json:"-"`
}

// TargetResult is one target's share of a Result.
type TargetResult struct {
	Target Target `json:"target"`
	// Keys removed, or that would be removed.
	Keys int64 `json:"keys"`
	// Members removed from keys that stay: dead jobs, jl:batches entries.
	Members int64 `json:"members"`
	// Bytes is the memory freed, estimated with MEMORY USAGE before
	// removal (for members: the key's usage times the share removed).
	Bytes int64 `json:"bytes"`
	// Examples are the first few keys removed or to remove.
	Examples []string `json:"examples"`
	// Kept are things found and deliberately left alone (at most
	// maxFindings; KeptCount counts them all): keys whose contents
	// cleanup must not judge (in-flight jobs, unforwarded callbacks) and
	// foreign keys, named like a target's but of another type or shape.
	// Key names in Examples and Kept are shown as is when printable and
	// short, else Go-quoted and cut (see Finding.Key).
	Kept      []Finding `json:"kept"`
	KeptCount int64     `json:"kept_count"`
}

// Finding is something cleanup found and left alone, with the reason.
type Finding struct {
	// Key is the key's name as is when it is printable and at most 256
	// bytes, else Go-quoted (starting with '"') and cut to 256 bytes with
	// its length appended: key names may hold anything, and reports reach
	// terminals.
	Key    string `json:"key"`
	Reason string `json:"reason"`
	// Count is the number of elements involved (e.g. in-flight jobs).
	Count int64 `json:"count,omitempty"`
}

const (
	maxExamples = 10
	maxFindings = 100
)

// Lookup returns the result of one target, or nil.
func (r *Result) Lookup(t Target) *TargetResult {
	for i := range r.Targets {
		if r.Targets[i].Target == t {
			return &r.Targets[i]
		}
	}
	return nil
}

// Plan is a dry run: Run with Apply forced off.
func Plan(ctx context.Context, c rueidis.Client, opts Options) (*Result, error) {
	opts.Apply = false
	return Run(ctx, c, opts)
}

// Run cleans the chosen targets on every primary of c. On error
// (including ctx's) it returns what was done so far along with the error;
// running again resumes.
func Run(ctx context.Context, c rueidis.Client, opts Options) (*Result, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	r := &run{c: c, opts: opts, res: &Result{Applied: opts.Apply}, limit: newLimiter(opts.Rate),
		reported: map[string]bool{}, wouldGo: map[string]bool{}}
	for _, t := range opts.Targets {
		r.res.Targets = append(r.res.Targets, TargetResult{Target: t})
	}
	err = r.all(ctx)
	r.res.Elapsed = time.Since(start)
	return r.res, err
}

type run struct {
	c     rueidis.Client
	opts  Options
	res   *Result
	limit *limiter
	prog  Progress
	// reported dedupes findings: a batch's keys may arrive in several
	// SCAN batches.
	reported map[string]bool
	// wouldGo are the finished batches a dry run would remove.
	wouldGo map[string]bool
	// outputsDone: the job output keys were handled (outputs.go).
	outputsDone bool
}

func (r *run) wants(t Target) bool { return slices.Contains(r.opts.Targets, t) }

func (r *run) all(ctx context.Context) error {
	nodes, err := keyspace.Primaries(ctx, r.c)
	if err != nil {
		return fmt.Errorf("cleanup: %w", err)
	}
	for _, n := range nodes {
		size, err := n.Client.Do(ctx, n.Client.B().Dbsize().Build()).AsInt64()
		if err != nil {
			return fmt.Errorf("cleanup: DBSIZE on %s: %w", n.Addr, err)
		}
		r.prog.DBSize += size
	}
	for _, n := range nodes {
		if err := r.scan(ctx, n); err != nil {
			return err
		}
	}
	if r.wants(Batches) {
		if err := r.pruneBatchIndex(ctx); err != nil {
			return err
		}
	}
	return nil
}

// scan walks one node and hands each SCAN batch to the chosen targets.
func (r *run) scan(ctx context.Context, n keyspace.Node) error {
	var cursor uint64
	for {
		entry, err := n.Client.Do(ctx, n.Client.B().Scan().Cursor(cursor).Count(int64(r.opts.ScanCount)).Build()).AsScanEntry()
		if err != nil {
			return fmt.Errorf("cleanup: SCAN on %s: %w", n.Addr, err)
		}
		r.res.Scanned += int64(len(entry.Elements))
		r.prog.Scanned = r.res.Scanned
		if err := r.batch(ctx, entry.Elements); err != nil {
			return err
		}
		r.progress()
		if cursor = entry.Cursor; cursor == 0 {
			return nil
		}
		if err := keyspace.Pause(ctx, r.opts.Pause); err != nil {
			return err
		}
	}
}

func (r *run) batch(ctx context.Context, keys []string) error {
	var failinfo, batchKeys, procKeys, wipKeys, deadKeys, outKeys []string
	for _, k := range keys {
		switch {
		case isFailinfoKey(k):
			failinfo = append(failinfo, k)
		case r.isBatchKey(k):
			batchKeys = append(batchKeys, k)
		case r.isProcKey(k):
			procKeys = append(procKeys, k)
		case r.isWipKey(k):
			wipKeys = append(wipKeys, k)
		case r.isDeadKey(k):
			deadKeys = append(deadKeys, k)
		case r.isOutputKey(k):
			outKeys = append(outKeys, k)
		}
	}
	steps := []struct {
		t    Target
		keys []string
		fn   func(context.Context, []string) error
	}{
		{SidekiqFailinfo, failinfo, r.failinfo},
		{Batches, batchKeys, r.batches},
		{Processes, procKeys, r.procInfo},
		{Processes, wipKeys, r.wip},
		{DeadJobs, deadKeys, r.dead},
		{JobOutputs, outKeys, r.outputs},
	}
	for _, s := range steps {
		if len(s.keys) == 0 || !r.wants(s.t) {
			continue
		}
		if err := keyspace.Pause(ctx, r.opts.Pause); err != nil {
			return err
		}
		if err := s.fn(ctx, s.keys); err != nil {
			return fmt.Errorf("cleanup: %s: %w", s.t, err)
		}
	}
	return nil
}

func (r *run) target(t Target) *TargetResult { return r.res.Lookup(t) }

// removed records keys removed (or to remove) with their bytes.
func (r *run) removed(t Target, keys []string, n, bytes int64) {
	tr := r.target(t)
	tr.Keys += n
	tr.Bytes += bytes
	for _, k := range keys {
		if len(tr.Examples) >= maxExamples {
			break
		}
		tr.Examples = append(tr.Examples, shownKey(k))
	}
	r.prog.Keys += n
	r.prog.Bytes += bytes
	r.progress()
}

func (r *run) kept(t Target, f Finding) {
	if r.reported[f.Key] {
		return
	}
	r.reported[f.Key] = true
	tr := r.target(t)
	tr.KeptCount++
	if len(tr.Kept) < maxFindings {
		f.Key = shownKey(f.Key)
		tr.Kept = append(tr.Kept, f)
	}
}

func (r *run) progress() {
	if r.opts.Progress != nil {
		r.opts.Progress(r.prog)
	}
}

// memoryUsage measures keys in one pipeline; a missing key measures 0.
func (r *run) memoryUsage(ctx context.Context, keys []string) ([]int64, error) {
	cmds := make(rueidis.Commands, len(keys))
	for i, k := range keys {
		cmds[i] = r.c.B().MemoryUsage().Key(k).Samples(memreport.DefaultElementSamples).Build()
	}
	out := make([]int64, len(keys))
	for i, res := range r.c.DoMulti(ctx, cmds...) {
		n, err := res.AsInt64()
		if err != nil && !rueidis.IsRedisNil(err) {
			return nil, fmt.Errorf("MEMORY USAGE %q: %w", keys[i], err)
		}
		out[i] = n
	}
	return out, nil
}

// unlink removes keys in chunks at the rate limit and returns how many
// existed.
func (r *run) unlink(ctx context.Context, keys []string) (int64, error) {
	var removed int64
	for len(keys) > 0 {
		chunk := keys[:min(len(keys), r.opts.ChunkSize)]
		keys = keys[len(chunk):]
		if err := r.limit.wait(ctx, len(chunk)); err != nil {
			return removed, err
		}
		n, err := r.c.Do(ctx, r.c.B().Unlink().Key(chunk...).Build()).AsInt64()
		if err != nil {
			return removed, fmt.Errorf("UNLINK: %w", err)
		}
		removed += n
	}
	return removed, nil
}
