package redis

import (
	"testing"

	"github.com/joblot/joblot/backend"
)

// TestWipFieldOf: the in-flight field the ack names is the one the fetch
// wrote (wipField of the payload) for well-formed, repeated-ID, long-ID
// and malformed payloads, and a well-formed one costs no allocation.
func TestWipFieldOf(t *testing.T) {
	good, _ := (&backend.Job{ID: backend.NewJobID(), Kind: "k", Args: []byte("{}")}).MarshalBinary()
	long, _ := (&backend.Job{ID: string(make([]byte, 200)) + "x", Kind: "k"}).MarshalBinary()
	// The ID field twice: decoding keeps the second, the fetch script's
	// field is the first.
	twice := append(append([]byte(nil), good...), 3, 1, 'z')
	for name, raw := range map[string][]byte{"good": good, "long id": long, "id twice": twice, "malformed": {1, 3}, "empty": nil} {
		f := backend.DecodeFetched("q", raw)
		if got, want := wipFieldOf(f), wipField(raw); got != want {
			t.Errorf("%s: wipFieldOf %q, wipField %q", name, got, want)
		}
	}
	f := backend.DecodeFetched("q", good)
	if n := testing.AllocsPerRun(100, func() { _ = wipFieldOf(f) }); n != 0 {
		t.Errorf("wipFieldOf of a well-formed payload: %v allocations, want 0", n)
	}
}
