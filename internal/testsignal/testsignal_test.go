package testsignal

import "testing"

func TestUninitialisedIsNoOp(t *testing.T) {
	var s TestSignal[int]
	s.Signal(1) // must neither block nor panic
	if s.WaitC() != nil {
		t.Fatal("WaitC of an uninitialised signal is not nil")
	}
}

func TestSignalAndWait(t *testing.T) {
	var s TestSignal[string]
	s.Init(t)
	s.Signal("a")
	s.Signal("b")
	if got := s.WaitOrTimeout(); got != "a" {
		t.Fatalf("first wait = %q, want a", got)
	}
	if got := s.WaitOrTimeout(); got != "b" {
		t.Fatalf("second wait = %q, want b", got)
	}
}

// A component that signals more than the test reads never blocks; the test
// sees the latest values.
func TestFullDropsOldest(t *testing.T) {
	var s TestSignal[int]
	s.Init(t)
	for i := range bufferSize + 5 {
		s.Signal(i)
	}
	if got := s.WaitOrTimeout(); got != 5 {
		t.Fatalf("oldest kept = %d, want 5", got)
	}
	s.Drain()
	select {
	case v := <-s.WaitC():
		t.Fatalf("after Drain got %d", v)
	default:
	}
}
