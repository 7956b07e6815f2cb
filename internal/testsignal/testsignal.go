// Package testsignal lets a component tell a test that something happened
// inside it (a heartbeat turned, results were recorded), so that the test
// waits on the event instead of sleeping or polling. A signal is a no-op
// until a test initialises it: production code pays one nil check per
// Signal call.
//
// The shape follows River's rivershared/testsignal.
package testsignal

import "time"

// DefaultWaitTimeout bounds WaitOrTimeout: generous, so that a busy machine
// makes a test slower, never red.
const DefaultWaitTimeout = time.Minute

// bufferSize is how many signals a test may leave unread; past it the
// oldest are dropped, so that a loop that signals on every turn never
// blocks the component, however long the test runs.
const bufferSize = 100

// TB is the part of testing.TB a signal uses; it keeps package testing out
// of production binaries.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// TestSignal carries values of T from a component to a test. Its zero
// value is disabled: Signal does nothing until Init.
type TestSignal[T any] struct {
	tb TB
	ch chan T
}

// Init enables the signal for tb's test. Call it before the component
// starts: Init is not safe against a concurrent Signal.
func (s *TestSignal[T]) Init(tb TB) {
	s.tb = tb
	s.ch = make(chan T, bufferSize)
}

// Signal hands v to the test, if one initialised the signal. It never
// blocks: when the test left bufferSize values unread, the oldest goes.
func (s *TestSignal[T]) Signal(v T) {
	if s.ch == nil {
		return
	}
	for {
		select {
		case s.ch <- v:
			return
		default:
		}
		select {
		case <-s.ch:
		default:
		}
	}
}

// Enabled reports whether a test initialised the signal: a component
// checks it before building a value that costs something.
func (s *TestSignal[T]) Enabled() bool { return s.ch != nil }

// WaitC returns the channel the signals arrive on, for a test's select.
// It is nil (blocks for ever) when the signal was not initialised.
func (s *TestSignal[T]) WaitC() <-chan T { return s.ch }

// WaitOrTimeout returns the next value signalled, failing the test after
// DefaultWaitTimeout.
func (s *TestSignal[T]) WaitOrTimeout() T {
	s.tb.Helper()
	t := time.NewTimer(DefaultWaitTimeout)
	defer t.Stop()
	select {
	case v := <-s.ch:
		return v
	case <-t.C:
		s.tb.Fatalf("testsignal: no signal within %v", DefaultWaitTimeout)
		var zero T
		return zero
	}
}

// Drain discards the values signalled so far, so that the next wait sees
// only what happens from now on.
func (s *TestSignal[T]) Drain() {
	for {
		select {
		case <-s.ch:
		default:
			return
		}
	}
}
