package backend

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"
)

func TestJobCodecRoundTrip(t *testing.T) {
	ms := func(t time.Time) time.Time { return time.UnixMilli(t.UnixMilli()) }
	now := time.Now()
	full := &Job{
		ID: NewJobID(), Kind: "email", Queue: "mail", Args: []byte(`{"to":"ada"}`),
		Attempt: 3, MaxRetries: -1, Timeout: 1500 * time.Millisecond,
		CreatedAt: ms(now), RunAt: ms(now.Add(time.Hour)),
		BatchID: "b1", BatchIndex: 0, CallbackOf: "b0", CallbackEvent: CallbackDeath,
		ErrorClass: "panic", ErrorMessage: "boom", ErrorFingerprint: "fp", Backtrace: []byte{1, 2, 3},
		FailedAt: ms(now), DiedAt: ms(now), Recoveries: 2, ManualRetry: true,
		Meta: map[string]string{"tenant": "acme", "": "empty key", "z": ""}, TraceContext: "\x00\x01\x02", Snoozes: 7,
	}
	for _, j := range []*Job{full, {ID: "x"}} {
		raw, _ := j.MarshalBinary()
		got, err := DecodeJob(raw)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, j) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", got, j)
		}
	}
	// BatchIndex 0 survives for a batch job (zero values are omitted).
	raw, _ := (&Job{ID: "y", BatchID: "b", BatchIndex: 0}).MarshalBinary()
	if got, _ := DecodeJob(raw); got.BatchID != "b" || got.BatchIndex != 0 {
		t.Fatalf("batch index: %+v", got)
	}
}

func TestJobCodecSmall(t *testing.T) {
	raw, _ := (&Job{ID: NewJobID(), Kind: "noop", Queue: "default", Args: []byte(`{"n":123456}`), CreatedAt: time.Now()}).MarshalBinary()
	if len(raw) > 64 {
		t.Fatalf("a no-op job encodes to %d bytes; the Redis bytes-per-job budget needs ≤ 64", len(raw))
	}
}

// traceparent is a W3C traceparent in binary form: version, 16-byte trace
// id, 8-byte span id, flags.
func traceparent() []byte {
	tc := make([]byte, 26)
	for i := range tc {
		tc[i] = byte(0xa0 + i)
	}
	tc[0], tc[25] = 0, 1
	return tc
}

// A traced no-op job (the trace context a later OpenTelemetry middleware
// sets) still fits the 120 B per queued job budget.
func TestJobCodecTracedSmall(t *testing.T) {
	j := &Job{ID: NewJobID(), Kind: "noop", Queue: "default", Args: []byte(`{"n":123456}`), CreatedAt: time.Now(), TraceContext: TraceContext(traceparent())}
	raw, _ := j.MarshalBinary()
	if len(raw) > 120 {
		t.Fatalf("a traced no-op job encodes to %d bytes; the Redis bytes-per-job budget needs ≤ 120", len(raw))
	}
	got, err := DecodeJob(raw)
	if err != nil || got.TraceContext != j.TraceContext {
		t.Fatalf("trace context after a round trip: %x, %v", got.TraceContext, err)
	}
}

// Unused, metadata costs nothing: an empty map encodes like none, and the
// metadata's bytes are what MetaSize says plus the field's key and length.
func TestJobCodecMetaCost(t *testing.T) {
	base := &Job{ID: "m", Kind: "noop", Queue: "default"}
	plain, _ := base.MarshalBinary()
	empty := *base
	empty.Meta = map[string]string{}
	withEmpty, _ := empty.MarshalBinary()
	if len(withEmpty) != len(plain) {
		t.Fatalf("an empty Meta costs %d bytes, want 0", len(withEmpty)-len(plain))
	}
	meta := *base
	meta.Meta = map[string]string{"tenant": "acme", "req": "r-1"}
	withMeta, _ := meta.MarshalBinary()
	if extra, want := len(withMeta)-len(plain), MetaSize(meta.Meta)+2; extra != want {
		t.Fatalf("Meta costs %d bytes, want MetaSize+2 = %d", extra, want)
	}
	// Deterministic: the same map encodes to the same bytes every time.
	for range 20 {
		again, _ := meta.MarshalBinary()
		if string(again) != string(withMeta) {
			t.Fatal("Meta encodes in varying order")
		}
	}
	// Truncated metadata is malformed, not silently cut.
	bad := append([]byte(nil), plain...)
	bad = appendBytes(bad, fieldMeta, []byte{5, 'a'})
	if _, err := DecodeJob(bad); !errors.Is(err, ErrMalformedJob) {
		t.Fatalf("truncated metadata: %v, want ErrMalformedJob", err)
	}
}

// Every fetched job is decoded into a Job: metadata, trace context and
// snooze count must not move it into a larger allocation size class than
// the 384 bytes it took before they existed.
func TestJobStructSize(t *testing.T) {
	if n := unsafe.Sizeof(Job{}); n > 384 {
		t.Fatalf("backend.Job is %d bytes; keep it ≤ 384 (one allocation size class per fetched job)", n)
	}
}

func TestJobCodecRejectsGarbage(t *testing.T) {
	for _, raw := range [][]byte{nil, {}, {9, 1}, {1, 3, 200}, []byte("hello world")} {
		if _, err := DecodeJob(raw); !errors.Is(err, ErrMalformedJob) {
			t.Errorf("DecodeJob(%q) = %v, want ErrMalformedJob", raw, err)
		}
	}
}

func TestJobCodecKeepsUnknownFields(t *testing.T) {
	// A newer writer appends fields this codec does not know (a string, a
	// varint, and a field number past every known one).
	raw, _ := (&Job{ID: "z", Kind: "k", Attempt: 1}).MarshalBinary()
	raw = appendString(raw, 99, "from a newer writer")
	raw = appendInt(raw, 98, -7)
	raw = appendBytes(raw, 1<<20, []byte{0, 1, 2})
	got, err := DecodeJob(raw)
	if err != nil || got.ID != "z" || got.Kind != "k" {
		t.Fatalf("got %+v, %v", got, err)
	}
	// An older process re-encodes it unchanged: byte for byte.
	again, _ := got.MarshalBinary()
	if string(again) != string(raw) {
		t.Fatalf("re-encoded\n got %x\nwant %x", again, raw)
	}
	// It re-encodes it after a retry: the known field changes, the unknown
	// ones stay and decode again.
	got.Attempt++
	retried, _ := got.MarshalBinary()
	back, err := DecodeJob(retried)
	if err != nil || back.Attempt != 2 || string(back.UnknownFields) != string(got.UnknownFields) {
		t.Fatalf("after a retry: %+v, %v", back, err)
	}
	// A job without unknown fields costs nothing extra.
	plain, _ := (&Job{ID: "z", Kind: "k", Attempt: 1}).MarshalBinary()
	if p, _ := DecodeJob(plain); p.UnknownFields != nil {
		t.Fatalf("UnknownFields = %x for a job without any", p.UnknownFields)
	}
}

func TestJobIDs(t *testing.T) {
	seen := map[string]bool{}
	for range 10000 {
		id := NewJobID()
		if len(id) != 20 || seen[id] {
			t.Fatalf("id %q (len %d, dup %v)", id, len(id), seen[id])
		}
		seen[id] = true
	}
	if DerivedJobID("p", 3) != DerivedJobID("p", 3) || DerivedJobID("p", 3) == DerivedJobID("p", 4) {
		t.Fatal("derived ids not deterministic")
	}
}

// TestJobBinarySize: BinarySize is the length of the encoding, at every
// varint length boundary and with every field set.
func TestJobBinarySize(t *testing.T) {
	long := strings.Repeat("x", 200)
	jobs := []*Job{
		{ID: "x"},
		{ID: long, Kind: "k", Args: []byte(long), Attempt: -1, MaxRetries: 63, Timeout: 64 * time.Millisecond, BatchID: "b"},
		{ID: "y", Attempt: 64, MaxRetries: -65, Recoveries: 1 << 40, BatchID: "b", BatchIndex: -1 << 62, Snoozes: -1},
		{ID: "z", CreatedAt: time.UnixMilli(0), RunAt: time.UnixMilli(-1), FailedAt: time.Unix(1<<40, 0), DiedAt: time.UnixMilli(1)},
		{ID: "m", Meta: map[string]string{"": "", "a": long}, TraceContext: "\x00", ManualRetry: true, UnknownFields: []byte{0x7e, 1, 0}},
		{ID: "e", CallbackOf: "b", CallbackEvent: CallbackComplete, ErrorClass: "c", ErrorMessage: long + long, ErrorFingerprint: "f", Backtrace: []byte(long)},
	}
	for _, j := range jobs {
		if got, want := j.BinarySize(), len(j.AppendBinary(nil)); got != want {
			t.Errorf("job %.8s: BinarySize %d, encoding %d bytes", j.ID, got, want)
		}
	}
	if n := testing.AllocsPerRun(10, func() { jobs[4].BinarySize() }); n != 0 {
		t.Errorf("BinarySize allocates %v times", n)
	}
}
