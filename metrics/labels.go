package metrics

import (
	"hash/fnv"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/joblot/joblot/internal/termtext"
)

// maxLabelBytes bounds a label value derived from stored data (a kind, a
// queue name, a key family): longer values are cut and tagged with a hash
// of the whole value.
const maxLabelBytes = 128

// labelValue makes s, which comes from stored data and may hold anything,
// safe as a Prometheus label value: valid UTF-8 (the client library panics
// on anything else), no control characters (they would reach whoever reads
// the exposition text) and at most maxLabelBytes long. Invalid bytes and
// control characters are written as \xNN (line separators, bidi marks and
// controls, as termtext.Unsafe lists them, as \uNNNN), so distinct names
// mostly stay distinct; a cut value ends with "~" and a hash of s for the
// same reason. Callers must still tolerate two values mapping to one label.
func labelValue(s string) string {
	if len(s) <= maxLabelBytes && cleanLabel(s) {
		return s // the common case: no allocation
	}
	const suffixLen = 1 + 8 // "~" + 8 hex digits
	var b strings.Builder
	fits := 0 // length of b at the last piece boundary that leaves room for the suffix
	for i := 0; i < len(s) && b.Len() <= maxLabelBytes; {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b.WriteString(`\x` + hex2(s[i]))
		case r < 0x100 && unicode.IsControl(r):
			b.WriteString(`\x` + hex2(byte(r)))
		case termtext.Unsafe(r): // the format characters that reorder or break text
			b.WriteString(`\u` + strconv.FormatInt(int64(r)+0x10000, 16)[1:])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
		if b.Len() <= maxLabelBytes-suffixLen {
			fits = b.Len()
		}
	}
	if b.Len() <= maxLabelBytes {
		return b.String()
	}
	h := fnv.New32a()
	h.Write([]byte(s))
	return b.String()[:fits] + "~" + strconv.FormatUint(uint64(h.Sum32())|1<<32, 16)[1:]
}

// cleanLabel reports whether s is valid UTF-8 without control characters.
func cleanLabel(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= 0x80 {
			return cleanLabelSlow(s[i:])
		}
	}
	return true
}

func cleanLabelSlow(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || termtext.Unsafe(r) {
			return false // RuneError: an invalid byte, or a literal U+FFFD, which is fine to rewrite
		}
	}
	return true
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&0xf]})
}

// labelCap admits the first max distinct values of a label (or tuple of
// labels) to series of their own; later values are folded into
// OverflowLabel. It bounds the series, and the memory, that stored data can
// create: the job series (kind, queue pairs) and the queue series of the
// store gauges use it. It is not safe for concurrent use: its owner locks.
type labelCap[K comparable] struct {
	max      int
	admitted map[K]struct{}
}

func newLabelCap[K comparable](max int) *labelCap[K] {
	return &labelCap[K]{max: max, admitted: make(map[K]struct{})}
}

// admit reports whether k has, or now gets, series of its own.
func (c *labelCap[K]) admit(k K) bool {
	if c.has(k) {
		return true
	}
	if len(c.admitted) >= c.max {
		return false
	}
	c.admitted[k] = struct{}{}
	return true
}

// has reports whether k has series of its own.
func (c *labelCap[K]) has(k K) bool {
	_, ok := c.admitted[k]
	return ok
}

// retain forgets the admitted values for which keep is false, freeing
// their places (a queue that no longer exists).
func (c *labelCap[K]) retain(keep func(K) bool) {
	for k := range c.admitted {
		if !keep(k) {
			delete(c.admitted, k)
		}
	}
}
