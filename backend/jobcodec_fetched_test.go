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
// field set or few, and appending to its Args or Backtrace never writes
// into the payload the ack needs.
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
		f := DecodeFetched("q", raw)
		if f.Malformed != nil || !reflect.DeepEqual(f.Job, want) {
			t.Fatalf("fetched:\n got %+v (%v)\nwant %+v", f.Job, f.Malformed, want)
		}
		f.Args = append(f.Args, "more"...)
		f.Backtrace = append(f.Backtrace, 9)
		if !bytes.Equal(f.Raw, keep) {
			t.Fatalf("an append to the job's slices wrote into its payload: %x, want %x", f.Raw, keep)
		}
	}
	bad := DecodeFetched("q", []byte{jobCodecVersion, 0x0b})
	if bad.Malformed == nil || bad.ID == "" || bad.Queue != "q" || bad.Kind != "" {
		t.Fatalf("malformed payload: %+v", bad.Job)
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
