package memreport

import (
	"cmp"
	"container/heap"
	"hash/fnv"
	"math"
	"slices"
)

// Sampling design.
//
// A sampled report walks every key name with SCAN (cheap: no per-key call)
// and measures only a sample with MEMORY USAGE. Because the family of a key
// is known from its name, the sample is stratified by family: each family's
// key count is exact and only its bytes are estimated, from a simple random
// sample of that family's keys drawn without replacement.
//
// The sample is "bottom-k": every key gets a pseudo-random priority
// hash(seed, key) and a family's sample is its n keys of lowest priority.
// For a fixed seed the choice depends only on the set of keys, not on the
// order SCAN returns them in (which changes with Redis's per-process hash
// seed), so a report is reproducible; across seeds every n-subset is equally
// likely, which is what the variance formula below assumes.
//
// RANDOMKEY was rejected: it cannot be seeded, it samples with replacement,
// it is not uniform (Redis picks a random bucket neighbourhood, then a key
// in it, so keys in crowded buckets are less likely), and it gives no exact
// counts, which leaves the family proportions themselves as a source of
// error. SCAN from random cursors was rejected for a worse version of the
// same bias: a random cursor lands after a run of empty buckets with a
// probability that depends on the table's layout, which the client cannot
// see. The price of the choice is one name-only pass over the keyspace.
//
// For a family of N keys with n measured (mean m, sample variance s²) the
// estimate is N·m with variance N²·(1−n/N)·s²/n (finite population
// correction; zero when every key was measured). The report states a 95%
// half-width z·sqrt(var), z = 1.96. It is a normal approximation: it holds
// for families whose keys have comparable sizes; a family dominated by a few
// huge keys among many small ones (one 1 GB list among a million strings)
// can be missed by any sample, and its bound is then too narrow. Exact mode
// has no such caveat.

// z95 is the two-sided 95% normal quantile.
const z95 = 1.959963984540054

// minStratum is the smallest sample taken from a family that has more
// keys: below it the sample variance says little.
const minStratum = 30

// priority is a key's pseudo-random rank for a seed: FNV-1a of the key,
// mixed with the seed through the splitmix64 finaliser so that nearby
// seeds give independent orders.
func priority(seed uint64, key string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(key))
	x := h.Sum64() ^ (seed * 0x9e3779b97f4a7c15)
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

type candidate struct {
	key  string
	prio uint64
}

// bottomK keeps the k candidates of lowest priority seen so far (a max-heap
// on priority, so the worst kept one is evicted first).
type bottomK struct {
	k     int
	items []candidate
}

func (b *bottomK) Len() int           { return len(b.items) }
func (b *bottomK) Less(i, j int) bool { return b.items[i].prio > b.items[j].prio }
func (b *bottomK) Swap(i, j int)      { b.items[i], b.items[j] = b.items[j], b.items[i] }
func (b *bottomK) Push(x any)         { b.items = append(b.items, x.(candidate)) }
func (b *bottomK) Pop() any {
	last := b.items[len(b.items)-1]
	b.items = b.items[:len(b.items)-1]
	return last
}

func (b *bottomK) offer(c candidate) {
	switch {
	case b.k <= 0:
	case len(b.items) < b.k:
		heap.Push(b, c)
	case c.prio < b.items[0].prio:
		b.items[0] = c
		heap.Fix(b, 0)
	}
}

// lowest returns the n candidates of lowest priority, lowest first.
func (b *bottomK) lowest(n int) []candidate {
	all := append([]candidate(nil), b.items...)
	slices.SortFunc(all, func(x, y candidate) int { return cmp.Compare(x.prio, y.prio) })
	if n < len(all) {
		all = all[:n]
	}
	return all
}

// stratumSize is how many of a family's N keys to measure, given the sample
// budget and the number of keys in the database: the family's proportional
// share of the budget, at least minStratum, at most N.
func stratumSize(budget int, familyKeys, dbKeys int64) int {
	if familyKeys <= 0 {
		return 0
	}
	n := int64(math.Ceil(float64(budget) * float64(familyKeys) / float64(max(dbKeys, 1))))
	n = max(n, int64(min(minStratum, budget)))
	n = min(n, familyKeys, int64(budget))
	return int(n)
}

// moments accumulates a sample's size statistics.
type moments struct {
	n          int64
	sum, sumSq float64
}

func (m *moments) add(x float64) {
	m.n++
	m.sum += x
	m.sumSq += x * x
}

// estimate returns the estimated total of a population of size N from the
// sample, and the variance of that estimate.
func (m moments) estimate(N int64) (total, variance float64) {
	if m.n == 0 {
		return 0, 0
	}
	n := float64(m.n)
	mean := m.sum / n
	total = float64(N) * mean
	if m.n >= N || m.n < 2 {
		return total, 0
	}
	s2 := (m.sumSq - n*mean*mean) / (n - 1)
	if s2 < 0 {
		s2 = 0
	}
	fpc := 1 - n/float64(N)
	return total, float64(N) * float64(N) * fpc * s2 / n
}
