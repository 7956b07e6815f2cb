package backend

import (
	"bytes"
	"reflect"
	"testing"
	"time"
)

// FuzzDecodeJob: any bytes decode to a job or to ErrMalformedJob without
// panicking, and a decoded job has one canonical form: re-encoding it and
// decoding again gives the same job and the same bytes. This is what the
// Redis scripts and the recoverer rely on when they rewrite a stored job
// that another version wrote.
func FuzzDecodeJob(f *testing.F) {
	full := &Job{
		ID: "01J0000000000000000000000", Kind: "email", Queue: "mail", Args: []byte(`{"to":"ada"}`),
		Attempt: 3, MaxRetries: -1, Timeout: 1500 * time.Millisecond,
		CreatedAt: time.UnixMilli(1700000000000), RunAt: time.UnixMilli(1700003600000),
		BatchID: "b1", CallbackOf: "b0", CallbackEvent: CallbackDeath,
		ErrorClass: "panic", ErrorMessage: "boom", ErrorFingerprint: "fp", Backtrace: []byte{1, 2, 3},
		FailedAt: time.UnixMilli(1700000000001), Recoveries: 2, ManualRetry: true,
		Meta: map[string]string{"tenant": "acme", "": "empty key"}, TraceContext: "\x00\x01", Snoozes: 7,
	}
	for _, j := range []*Job{full, {ID: "x"}, {ID: "y", BatchID: "b", BatchIndex: 0}} {
		raw, _ := j.MarshalBinary()
		f.Add(raw)
	}
	f.Add([]byte{})
	f.Add([]byte{jobCodecVersion})
	f.Add([]byte{jobCodecVersion, 0x0b, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, raw []byte) {
		j, err := DecodeJob(raw)
		if err != nil {
			if fe := DecodeFetched("q", raw); fe.Malformed == nil || fe.Job.ID == "" {
				t.Fatalf("an undecodable payload must come back malformed with an id: %+v", fe)
			}
			return
		}
		if j.ID == "" {
			t.Fatal("decoded a job without an id")
		}
		if fe := DecodeFetched("q", bytes.Clone(raw)); fe.Malformed != nil || fe.Queue != "q" || fe.ID != j.ID || !bytes.Equal(fe.Args, j.Args) || fe.ErrorMessage != j.ErrorMessage {
			t.Fatalf("DecodeFetched disagrees with DecodeJob: %+v (%v), want %+v", fe.Job, fe.Malformed, j)
		}
		if fe, fs := DecodeFetched("q", bytes.Clone(raw)), DecodeFetchedString("q", string(raw)); !reflect.DeepEqual(fe, fs) {
			t.Fatalf("DecodeFetchedString disagrees with DecodeFetched: %+v, want %+v", fs.Job, fe.Job)
		}
		once := j.AppendBinary(nil)
		if n := j.BinarySize(); n != len(once) {
			t.Fatalf("BinarySize %d, encoded %d bytes", n, len(once))
		}
		again, err := DecodeJob(once)
		if err != nil {
			t.Fatalf("re-encoded job does not decode: %v", err)
		}
		if !reflect.DeepEqual(again, j) {
			t.Fatalf("re-encoding changed the job:\n got %+v\nwant %+v", again, j)
		}
		if twice := again.AppendBinary(nil); !bytes.Equal(twice, once) {
			t.Fatalf("encoding is not canonical:\n%x\n%x", once, twice)
		}
	})
}
