package joblot_test

import (
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/joblot/joblot"
)

func TestOutcomeSentinels(t *testing.T) {
	cases := []struct {
		name            string
		err             error
		killed, discard bool
	}{
		{"kill", joblot.JobKill(io.EOF), true, false},
		{"kill nil", joblot.JobKill(nil), true, false},
		{"kill wrapped", fmt.Errorf("import: %w", joblot.JobKill(io.EOF)), true, false},
		{"discard", joblot.JobDiscard(io.EOF), false, true},
		{"discard nil", joblot.JobDiscard(nil), false, true},
		{"discard wrapped", fmt.Errorf("sync: %w", joblot.JobDiscard(io.EOF)), false, true},
		{"plain", io.EOF, false, false},
		{"joined", errors.Join(io.EOF, joblot.JobKill(nil)), true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := errors.Is(c.err, joblot.ErrJobKilled); got != c.killed {
				t.Errorf("errors.Is(%v, ErrJobKilled) = %v, want %v", c.err, got, c.killed)
			}
			if got := errors.Is(c.err, joblot.ErrJobDiscarded); got != c.discard {
				t.Errorf("errors.Is(%v, ErrJobDiscarded) = %v, want %v", c.err, got, c.discard)
			}
		})
	}
	// The wrapped error is still reachable.
	if err := joblot.JobKill(io.EOF); !errors.Is(err, io.EOF) || err.Error() != io.EOF.Error() {
		t.Errorf("JobKill(io.EOF) = %q, lost io.EOF", err)
	}
}
