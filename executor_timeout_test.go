package joblot

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestTimeoutCause: the lazily formatted timeout cause reads and matches
// as the fmt.Errorf it replaces.
func TestTimeoutCause(t *testing.T) {
	d := 1500 * time.Millisecond
	var err error = &timeoutCause{d}
	want := fmt.Errorf("%w after %v", ErrJobTimeout, d)
	if err.Error() != want.Error() || !errors.Is(err, ErrJobTimeout) {
		t.Fatalf("cause %q (is ErrJobTimeout: %v), want %q", err, errors.Is(err, ErrJobTimeout), want)
	}
}
