package benchrun

import (
	"math/bits"
	"sync/atomic"
)

// Bitmap is a fixed-size set of job numbers, safe for concurrent use. A
// job that runs twice sets its bit twice; the count stays right.
type Bitmap struct {
	words []atomic.Uint64
	size  int64
}

// NewBitmap returns an empty bitmap for numbers 0..size-1.
func NewBitmap(size int64) *Bitmap {
	return &Bitmap{words: make([]atomic.Uint64, (size+63)/64), size: size}
}

// Set adds n and reports whether it was new. Numbers out of range are
// ignored (a foreign job in the queue is not ours to count).
func (b *Bitmap) Set(n int64) bool {
	if n < 0 || n >= b.size {
		return false
	}
	mask := uint64(1) << (n % 64)
	old := b.words[n/64].Or(mask)
	return old&mask == 0
}

// Has reports whether n is in the set.
func (b *Bitmap) Has(n int64) bool {
	if n < 0 || n >= b.size {
		return false
	}
	return b.words[n/64].Load()&(uint64(1)<<(n%64)) != 0
}

// Count returns the number of members.
func (b *Bitmap) Count() int64 {
	var c int
	for i := range b.words {
		c += bits.OnesCount64(b.words[i].Load())
	}
	return int64(c)
}

// Size returns the capacity the bitmap was made with.
func (b *Bitmap) Size() int64 { return b.size }

// CountUnion returns how many numbers are in at least one of sets, which
// must all have the same size.
func CountUnion(sets ...*Bitmap) int64 {
	if len(sets) == 0 {
		return 0
	}
	var c int
	for i := range sets[0].words {
		var w uint64
		for _, s := range sets {
			w |= s.words[i].Load()
		}
		c += bits.OnesCount64(w)
	}
	return int64(c)
}
