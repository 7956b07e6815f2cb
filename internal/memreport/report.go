// Package memreport attributes a Redis server's used_memory to key
// families: joblot's own (queues, scheduled, retry, dead, in-flight, batch
// state, batch error groups, stats, processes) and legacy Sidekiq / Sidekiq
// Pro ones (queue:*, schedule, retry, dead, b-<bid>, b-<bid>-jids,
// b-<bid>-failinfo, b-<bid>-failed, b-<bid>-died, processes, stat:*), plus
// everything else.
//
// It never blocks Redis: it walks the keyspace with SCAN at a bounded COUNT,
// sends one pipeline of MEMORY USAGE <key> SAMPLES 0 per SCAN batch, and
// pauses between calls. On a large database it can measure only a sample
// of the keys and state the estimate's error bound (see sample.go).
//
// MEMORY USAGE … SAMPLES 0 visits every element of a key: measured here on
// a 1M-field hash it held Redis for 118 ms. So the report asks for SAMPLES
// ElementSamples (default 10,000): exact, like SAMPLES 0, for every key of
// up to that many elements, and about 1 ms of Redis time, extrapolated from
// that many elements, for a bigger one. ElementSamples < 0 asks for
// SAMPLES 0 everywhere.
package memreport

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/internal/keyspace"
	"github.com/joblot/joblot/internal/rediskeys"
)

// Defaults for Options.
const (
	DefaultScanCount = 100
	// DefaultSampleScanCount is SCAN's COUNT in a sampled report, whose
	// SCAN batches only fetch names (no per-key call).
	DefaultSampleScanCount = 1000
	DefaultElementSamples  = 10_000
	DefaultPause           = time.Millisecond
	DefaultTopKeys         = 5
)

// Options tune a report. The zero value is an exact report with the
// defaults above.
type Options struct {
	// Sample, when > 0 and the database holds more keys than that,
	// measures about Sample keys (stratified by family, at least 30 per
	// family that has more) instead of all of them, and reports each
	// family's bytes as an estimate with a 95% error bound. Key counts
	// stay exact. 0 measures every key.
	Sample int
	// Seed picks the sample; 0 draws one at random. The seed used is in
	// Result.Seed, so a sampled report can be reproduced.
	Seed uint64
	// ScanCount is SCAN's COUNT and the size of each MEMORY USAGE pipeline
	// (default 100; 1000 for the name-only SCAN of a sampled report).
	ScanCount int
	// ElementSamples is MEMORY USAGE's SAMPLES: keys with more elements
	// are extrapolated from this many (default 10,000; negative: SAMPLES
	// 0, every element, which can hold Redis for 100+ ms on a huge key).
	ElementSamples int
	// Pause is slept between two calls to Redis (default 1ms; negative
	// means no pause).
	Pause time.Duration
	// TopKeys is how many of the biggest keys to list per family (default
	// 5; negative lists none). In a sampled report they are the biggest
	// of the measured keys.
	TopKeys int
	// Progress, if set, is called after each SCAN batch with the key names
	// seen so far and the database size (DBSIZE summed over primaries).
	Progress func(scanned, total int64)
	// Keys is the joblot key layout whose families are reported (the zero
	// Layout: the default prefix).
	Keys rediskeys.Layout
}

func (o Options) withDefaults() Options {
	if o.ElementSamples == 0 {
		o.ElementSamples = DefaultElementSamples
	}
	if o.ElementSamples < 0 {
		o.ElementSamples = 0
	}
	if o.Pause == 0 {
		o.Pause = DefaultPause
	}
	if o.TopKeys == 0 {
		o.TopKeys = DefaultTopKeys
	}
	return o
}

// Result is the memory of one Redis deployment by key family. (The type is
// not called Report because the function that computes it is.)
type Result struct {
	// Sampled is true when bytes are estimated from a sample.
	Sampled bool `json:"sampled"`
	// Seed is the sampling seed (sampled reports only).
	Seed uint64 `json:"seed,omitempty"`
	// Confidence is the level of the error bounds (0.95) in a sampled
	// report.
	Confidence float64 `json:"confidence,omitempty"`
	// ElementSamples is the SAMPLES given to MEMORY USAGE (0: every
	// element): keys with more elements than that were extrapolated.
	ElementSamples int `json:"element_samples"`
	// Nodes is the number of primaries walked.
	Nodes int `json:"nodes"`
	// DBSize is DBSIZE summed over primaries, when the report started.
	DBSize int64 `json:"dbsize"`
	// Scanned is the number of key names SCAN returned.
	Scanned int64 `json:"scanned"`
	// Measured is the number of keys measured with MEMORY USAGE.
	Measured int64 `json:"measured"`
	// UsedMemory is INFO used_memory summed over primaries, when the
	// report started.
	UsedMemory int64 `json:"used_memory"`
	// MaxMemory is INFO maxmemory summed over primaries (0 = no limit).
	MaxMemory int64 `json:"maxmemory"`
	// KeyBytes is the sum of the families' bytes, and KeyBytesError its
	// error bound (0 when exact).
	KeyBytes      int64 `json:"key_bytes"`
	KeyBytesError int64 `json:"key_bytes_error"`
	// Unattributed is UsedMemory − KeyBytes: the server's own overhead
	// (buffers, replication backlog, allocator fragmentation not charged
	// to keys, the keyspace's dict tables, Lua scripts).
	Unattributed int64 `json:"unattributed"`
	// Families lists every family in display order, empty ones included.
	Families []FamilyReport `json:"families"`
	// Elapsed is how long the report took (the CLI prints it as
	// elapsed_ms).
	Elapsed time.Duration `json:"-"`
}

// FamilyReport is one family's share of memory.
type FamilyReport struct {
	FamilyInfo
	// Keys is the number of keys in the family (exact in both modes).
	Keys int64 `json:"keys"`
	// Bytes is the family's memory, exact or estimated.
	Bytes int64 `json:"bytes"`
	// BytesError is the half-width of the 95% confidence interval of
	// Bytes (0 when every key of the family was measured).
	BytesError int64 `json:"bytes_error"`
	// Measured is how many of its keys were measured.
	Measured int64 `json:"measured"`
	// Share is Bytes / used_memory.
	Share float64 `json:"share"`
	// Top are the biggest (measured) keys, biggest first.
	Top []KeyUsage `json:"top"`
}

// KeyUsage is one key's memory.
type KeyUsage struct {
	Key   string `json:"key"`
	Bytes int64  `json:"bytes"`
}

// Report walks every primary of c and attributes its memory to families.
func Report(ctx context.Context, c rueidis.Client, opts Options) (*Result, error) {
	explicitScan := opts.ScanCount > 0
	opts = opts.withDefaults()
	start := time.Now()
	nodes, err := keyspace.Primaries(ctx, c)
	if err != nil {
		return nil, fmt.Errorf("memreport: %w", err)
	}
	r := &Result{Nodes: len(nodes)}
	for _, n := range nodes {
		mem, err := keyspace.Info(ctx, n.Client, "memory")
		if err != nil {
			return nil, fmt.Errorf("memreport: %w", err)
		}
		r.UsedMemory += mem["used_memory"]
		r.MaxMemory += mem["maxmemory"]
		size, err := n.Client.Do(ctx, n.Client.B().Dbsize().Build()).AsInt64()
		if err != nil {
			return nil, fmt.Errorf("memreport: DBSIZE on %s: %w", n.Addr, err)
		}
		r.DBSize += size
	}
	r.ElementSamples = opts.ElementSamples
	if opts.ScanCount <= 0 {
		opts.ScanCount = DefaultScanCount
	}
	if opts.Sample > 0 && r.DBSize > int64(opts.Sample) {
		if opts.ScanCount == DefaultScanCount && !explicitScan {
			opts.ScanCount = DefaultSampleScanCount
		}
		r.Sampled = true
		r.Confidence = 0.95
		r.Seed = opts.Seed
		if r.Seed == 0 {
			r.Seed = rand.Uint64() | 1
		}
	}

	w := &walker{opts: opts, report: r, fams: make(map[Family]*familyAcc), families: families(opts.Keys)}
	for _, fi := range w.families {
		w.fams[fi.Family] = &familyAcc{top: topKeys{k: max(opts.TopKeys, 0)}}
	}
	for _, n := range nodes {
		if err := w.walk(ctx, n); err != nil {
			return nil, err
		}
	}

	var variance float64
	for _, fi := range w.families {
		a := w.fams[fi.Family]
		fr := FamilyReport{
			FamilyInfo: fi,
			Keys:       a.keys,
			Bytes:      int64(math.Round(a.bytes)),
			BytesError: int64(math.Ceil(z95 * math.Sqrt(a.variance))),
			Measured:   a.measured,
			Top:        a.top.sorted(),
		}
		if r.UsedMemory > 0 {
			fr.Share = float64(fr.Bytes) / float64(r.UsedMemory)
		}
		variance += a.variance
		r.KeyBytes += fr.Bytes
		r.Families = append(r.Families, fr)
	}
	r.KeyBytesError = int64(math.Ceil(z95 * math.Sqrt(variance)))
	r.Unattributed = r.UsedMemory - r.KeyBytes
	r.Elapsed = time.Since(start)
	return r, nil
}

// familyAcc accumulates one family over every node.
type familyAcc struct {
	keys, measured int64
	// bytes and variance sum the per-node estimates (exact: variance 0).
	bytes, variance float64
	top             topKeys
}

// nodeFamily is one family's sampling state on one node.
type nodeFamily struct {
	keys    int64
	cands   bottomK
	moments moments
}

type walker struct {
	opts    Options
	report  *Result
	fams    map[Family]*familyAcc
	scanned int64
	// families are the families of opts.Keys, in display order.
	families []FamilyInfo
}

// walk scans one node. Exact: every SCAN batch is measured at once.
// Sampled: SCAN only classifies and keeps candidates; the chosen ones are
// measured after the scan.
func (w *walker) walk(ctx context.Context, n keyspace.Node) error {
	var perNode map[Family]*nodeFamily
	if w.report.Sampled {
		perNode = make(map[Family]*nodeFamily, len(w.families))
		for _, fi := range w.families {
			perNode[fi.Family] = &nodeFamily{cands: bottomK{k: w.opts.Sample}}
		}
	}
	c := n.Client
	var cursor uint64
	for {
		entry, err := c.Do(ctx, c.B().Scan().Cursor(cursor).Count(int64(w.opts.ScanCount)).Build()).AsScanEntry()
		if err != nil {
			return fmt.Errorf("memreport: SCAN on %s: %w", n.Addr, err)
		}
		w.scanned += int64(len(entry.Elements))
		w.report.Scanned = w.scanned
		if len(entry.Elements) > 0 {
			if err := keyspace.Pause(ctx, w.opts.Pause); err != nil {
				return err
			}
			if err := w.batch(ctx, c, entry.Elements, perNode); err != nil {
				return fmt.Errorf("memreport: on %s: %w", n.Addr, err)
			}
		}
		if w.opts.Progress != nil {
			w.opts.Progress(w.scanned, w.report.DBSize)
		}
		cursor = entry.Cursor
		if cursor == 0 {
			break
		}
		if err := keyspace.Pause(ctx, w.opts.Pause); err != nil {
			return err
		}
	}
	if !w.report.Sampled {
		return nil
	}
	return w.measureSample(ctx, c, perNode)
}

// batch classifies one SCAN batch and, in exact mode, measures it: one
// pipeline of MEMORY USAGE (and TYPE where the family depends on it).
func (w *walker) batch(ctx context.Context, c rueidis.Client, keys []string, perNode map[Family]*nodeFamily) error {
	fams := make([]Family, len(keys))
	want := make([]string, len(keys))
	var cmds rueidis.Commands
	for i, k := range keys {
		fams[i], want[i] = Classify(w.opts.Keys, k)
		if !w.report.Sampled {
			cmds = append(cmds, c.B().MemoryUsage().Key(k).Samples(int64(w.opts.ElementSamples)).Build())
		}
	}
	typeAt := make([]int, len(keys))
	for i, k := range keys {
		typeAt[i] = -1
		if want[i] != "" {
			typeAt[i] = len(cmds)
			cmds = append(cmds, c.B().Type().Key(k).Build())
		}
	}
	if len(cmds) == 0 { // sampled, nothing needs a TYPE
		for i, k := range keys {
			w.offer(perNode[fams[i]], k)
		}
		return nil
	}
	res := c.DoMulti(ctx, cmds...)
	for i, k := range keys {
		if typeAt[i] >= 0 {
			typ, err := res[typeAt[i]].ToString()
			if err != nil {
				return fmt.Errorf("TYPE %q: %w", k, err)
			}
			if typ == "none" {
				continue // deleted since SCAN
			}
			if typ != want[i] {
				fams[i] = Other
			}
		}
		if w.report.Sampled {
			w.offer(perNode[fams[i]], k)
			continue
		}
		size, err := res[i].AsInt64()
		if rueidis.IsRedisNil(err) {
			continue // deleted since SCAN
		}
		if err != nil {
			return fmt.Errorf("MEMORY USAGE %q: %w", k, err)
		}
		a := w.fams[fams[i]]
		a.keys++
		a.measured++
		a.bytes += float64(size)
		a.top.offer(KeyUsage{Key: k, Bytes: size})
		w.report.Measured++
	}
	return nil
}

func (w *walker) offer(nf *nodeFamily, key string) {
	nf.keys++
	nf.cands.offer(candidate{key: key, prio: priority(w.report.Seed, key)})
}

// measureSample measures each family's chosen keys on one node, in
// pipelines of ScanCount with pauses, and adds the node's estimates.
func (w *walker) measureSample(ctx context.Context, c rueidis.Client, perNode map[Family]*nodeFamily) error {
	type pick struct {
		key string
		fam Family
	}
	var picks []pick
	for _, fi := range w.families {
		nf := perNode[fi.Family]
		w.fams[fi.Family].keys += nf.keys
		for _, cand := range nf.cands.lowest(stratumSize(w.opts.Sample, nf.keys, w.report.DBSize)) {
			picks = append(picks, pick{cand.key, fi.Family})
		}
	}
	for len(picks) > 0 {
		chunk := picks[:min(len(picks), w.opts.ScanCount)]
		picks = picks[len(chunk):]
		cmds := make(rueidis.Commands, len(chunk))
		for i, p := range chunk {
			cmds[i] = c.B().MemoryUsage().Key(p.key).Samples(int64(w.opts.ElementSamples)).Build()
		}
		for i, res := range c.DoMulti(ctx, cmds...) {
			size, err := res.AsInt64()
			if err != nil && !rueidis.IsRedisNil(err) {
				return fmt.Errorf("memreport: MEMORY USAGE %q: %w", chunk[i].key, err)
			}
			// A key deleted since SCAN counts as a measured 0: it was
			// counted in N, and it now holds no memory.
			perNode[chunk[i].fam].moments.add(float64(size))
			w.fams[chunk[i].fam].top.offer(KeyUsage{Key: chunk[i].key, Bytes: size})
			w.fams[chunk[i].fam].measured++
			w.report.Measured++
		}
		if err := keyspace.Pause(ctx, w.opts.Pause); err != nil {
			return err
		}
	}
	for _, fi := range w.families {
		nf := perNode[fi.Family]
		total, variance := nf.moments.estimate(nf.keys)
		a := w.fams[fi.Family]
		a.bytes += total
		a.variance += variance
	}
	return nil
}

// topKeys keeps the k biggest keys (a min-heap on bytes).
type topKeys struct {
	k     int
	items []KeyUsage
}

func (t *topKeys) Len() int           { return len(t.items) }
func (t *topKeys) Less(i, j int) bool { return t.items[i].Bytes < t.items[j].Bytes }
func (t *topKeys) Swap(i, j int)      { t.items[i], t.items[j] = t.items[j], t.items[i] }
func (t *topKeys) Push(x any)         { t.items = append(t.items, x.(KeyUsage)) }
func (t *topKeys) Pop() any {
	last := t.items[len(t.items)-1]
	t.items = t.items[:len(t.items)-1]
	return last
}

func (t *topKeys) offer(u KeyUsage) {
	switch {
	case t.k <= 0:
	case len(t.items) < t.k:
		heap.Push(t, u)
	case u.Bytes > t.items[0].Bytes:
		t.items[0] = u
		heap.Fix(t, 0)
	}
}

// sorted returns the kept keys, biggest first.
func (t *topKeys) sorted() []KeyUsage {
	h := &topKeys{k: t.k, items: append([]KeyUsage(nil), t.items...)}
	out := make([]KeyUsage, h.Len())
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = heap.Pop(h).(KeyUsage)
	}
	return out
}

// ErrNoFamily is returned by Lookup for an unknown family.
var ErrNoFamily = errors.New("memreport: no such family")

// Lookup returns the report of one family.
func (r *Result) Lookup(f Family) (*FamilyReport, error) {
	for i := range r.Families {
		if r.Families[i].Family == f {
			return &r.Families[i], nil
		}
	}
	return nil, fmt.Errorf("%w: %q", ErrNoFamily, f)
}
