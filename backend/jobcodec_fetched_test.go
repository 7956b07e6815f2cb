package backend

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestDecodeFetchedMatchesDecodeJob: a fetched job decodes to the job
// DecodeJob gives (with the fetching queue), small or large, with every
// field set or few, from bytes or from a string, and appending to its Args
// or Backtrace never writes into the payload the ack needs.
func TestDecodeFetchedMatchesDecodeJob(t *testing.T) {
	full := &Job{
		ID: NewJobID(), Kind: "email", Queue: "mail", Args: []byte(`{"to":"ada"}`),
		Attempt: 3, MaxRetries: -1, Timeout: 1500 * time.Millisecond,
		CreatedAt: time.UnixMilli(1700000000000), RunAt: time.UnixMilli(1700003600000),
		BatchID: "b1", CallbackOf: "b0", CallbackEvent: CallbackDeath,
		ErrorClass: "panic", ErrorMessage: "boom", ErrorFingerprint: "fp", Backtrace: []byte{1, 2, 3},
		FailedAt: time.UnixMilli(1700000000001), Recoveries: 2, ManualRetry: true,
		Meta: map[string]string{"tenant": "acme"}, TraceContext: "\x00\x01", Snoozes: 7,
	}
	large := full.Clone()
	large.Args = []byte(`{"blob":"` + strings.Repeat("x", 2*sharedDecodeMax) + `"}`)
	for _, j := range []*Job{full, large, {ID: "x"}, {ID: "y", Kind: "k", Args: []byte("{}")}} {
		raw, _ := j.MarshalBinary()
		keep := bytes.Clone(raw)
		want, err := DecodeJob(raw)
		if err != nil {
			t.Fatal(err)
		}
		want.Queue = "q"
		for _, f := range []*Fetched{DecodeFetched("q", raw), DecodeFetchedString("q", string(raw))} {
			if f.Malformed != nil || !reflect.DeepEqual(f.Job, want) {
				t.Fatalf("fetched:\n got %+v (%v)\nwant %+v", f.Job, f.Malformed, want)
			}
			f.Args = append(f.Args, "more"...)
			f.Backtrace = append(f.Backtrace, 9)
			if !bytes.Equal(f.Raw, keep) {
				t.Fatalf("an append to the job's slices wrote into its payload: %x, want %x", f.Raw, keep)
			}
		}
	}
	badRaw := []byte{jobCodecVersion, 0x0b}
	for _, bad := range []*Fetched{DecodeFetched("q", badRaw), DecodeFetchedString("q", string(badRaw))} {
		if bad.Malformed == nil || bad.ID != MalformedJobID(badRaw) || bad.Queue != "q" || bad.Kind != "" || !bytes.Equal(bad.Raw, badRaw) {
			t.Fatalf("malformed payload: %+v", bad.Job)
		}
	}
}

// TestDecodeFetchedStringAllocs: a small job read as a string costs one
// allocation, its Fetched and Job: its payload and fields share the
// string.
func TestDecodeFetchedStringAllocs(t *testing.T) {
	j := &Job{ID: NewJobID(), Kind: "greet", Queue: "default", Args: []byte(`{"name":"x","n":1}`), CreatedAt: time.UnixMilli(1700000000000)}
	raw, _ := j.MarshalBinary()
	s := string(raw)
	if n := testing.AllocsPerRun(10, func() { DecodeFetchedString("default", s) }); n != 1 {
		t.Errorf("DecodeFetchedString: %v allocations, want 1", n)
	}
}

// BenchmarkDecodeFetched is the decoding cost of one fetched job of the
// usual shape.
func BenchmarkDecodeFetched(b *testing.B) {
	j := &Job{ID: NewJobID(), Kind: "greet", Queue: "default", Args: []byte(`{"name":"x","n":1}`),
		CreatedAt: time.UnixMilli(1700000000000)}
	raw, _ := j.MarshalBinary()
	b.ReportAllocs()
	for b.Loop() {
		DecodeFetched("default", raw)
	}
}

// BenchmarkDecodeFetchedString is BenchmarkDecodeFetched of a payload read
// as a string, as from Redis.
func BenchmarkDecodeFetchedString(b *testing.B) {
	j := &Job{ID: NewJobID(), Kind: "greet", Queue: "default", Args: []byte(`{"name":"x","n":1}`),
		CreatedAt: time.UnixMilli(1700000000000)}
	raw, _ := j.MarshalBinary()
	s := string(raw)
	b.ReportAllocs()
	for b.Loop() {
		DecodeFetchedString("default", s)
	}
}
