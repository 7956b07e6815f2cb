package benchrun

import (
	"errors"
	"fmt"
)

// MaxErrorShapes bounds Config.ErrorShapes: a shape's name is four of 20
// syllables (20^4 = 160,000 names).
const MaxErrorShapes = 160_000

// syllables spell shape names. A name is lower-case letters only, so error
// grouping keeps it (it folds numbers and random-looking tokens).
var syllables = [...]string{"ba", "ke", "mo", "du", "fi", "ga", "le", "no", "pu", "ri", "sa", "te", "vo", "zu", "hi", "ja", "ko", "me", "ne", "pi"}

// errBenchShape is what every shaped failure wraps.
var errBenchShape = errors.New("fails on purpose")

// shapeName is the name of shape i in [0, MaxErrorShapes).
func shapeName(i int) string {
	b := make([]byte, 0, 8)
	for range 4 {
		b = append(b, syllables[i%len(syllables)]...)
		i /= len(syllables)
	}
	return string(b)
}

// failure is the error attempt of failing job n returns: with one shape
// errFailing, else one of shapes messages picked by job number and
// attempt, each with the job number in it (which grouping folds).
func failure(n int64, attempt, shapes int) error {
	if shapes <= 1 {
		return errFailing
	}
	i := int(mix64(uint64(n)*31+uint64(attempt)) % uint64(shapes))
	return fmt.Errorf("bench: job %d: step %s: %w", n, shapeName(i), errBenchShape)
}
