package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// roundTrip sends v through JSON as the protocol does.
func roundTrip[T any](t *testing.T, v T) T {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %T: %v", v, err)
	}
	var out T
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("unmarshal %T: %v", v, err)
	}
	return out
}

// everyFieldJob sets every field of backend.Job to a non-zero value that
// stresses the encoding: nanosecond times in several zones, binary bytes.
func everyFieldJob(t *testing.T) *backend.Job {
	t.Helper()
	at := time.Date(2025, 3, 30, 1, 59, 59, 123456789, time.FixedZone("CET", 3600))
	j := &backend.Job{
		ID: "j1", Kind: "k", Queue: "q", Args: []byte{0, 1, 0xff, '"', '\\'},
		Attempt: 3, MaxRetries: -1, Timeout: 1500 * time.Millisecond,
		CreatedAt: at, RunAt: at.Add(time.Nanosecond).UTC(), BatchID: "b", BatchIndex: 1 << 40,
		CallbackOf: "p", CallbackEvent: backend.CallbackDeath,
		ErrorClass: "*errors.errorString", ErrorMessage: "héllo\x00\u2028", ErrorFingerprint: "fp",
		Backtrace: []byte{0x1f, 0x8b, 0, 255}, FailedAt: at.Add(-time.Hour).Local(), DiedAt: at.Add(time.Hour),
		Recoveries: 2, ManualRetry: true,
		Meta: map[string]string{"tenant": "acme", "": "\x00\u2028"}, TraceContext: "\x00\x4b\xff\x01", Snoozes: 4,
		UnknownFields: []byte{0xc7, 0x01, 2, 'h', 'i'},
	}
	j.SetUnique("lock\x00\xff", at) // kept with UnknownFields
	v := reflect.ValueOf(j).Elem()
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Fatalf("everyFieldJob leaves Job.%s zero: set it so the round trip covers it", v.Type().Field(i).Name)
		}
	}
	return j
}

// sameJob compares every field; times by instant (JSON keeps the instant
// and the offset, not the *time.Location pointer or the monotonic reading).
func sameJob(got, want *backend.Job) error {
	if (got == nil) != (want == nil) {
		return fmt.Errorf("got %v, want %v", got, want)
	}
	if got == nil {
		return nil
	}
	g, w := reflect.ValueOf(got).Elem(), reflect.ValueOf(want).Elem()
	for i := range g.NumField() {
		name := g.Type().Field(i).Name
		if gt, ok := g.Field(i).Interface().(time.Time); ok {
			wt := w.Field(i).Interface().(time.Time)
			if !gt.Equal(wt) || gt.IsZero() != wt.IsZero() {
				return fmt.Errorf("%s: got %v, want %v", name, gt, wt)
			}
			continue
		}
		if !reflect.DeepEqual(g.Field(i).Interface(), w.Field(i).Interface()) {
			return fmt.Errorf("%s: got %#v, want %#v", name, g.Field(i).Interface(), w.Field(i).Interface())
		}
	}
	return nil
}

func TestJobRoundTripsExactly(t *testing.T) {
	full := everyFieldJob(t)
	plain := &backend.Job{ID: "j2", Args: []byte{}} // empty, not nil, Args
	got := roundTrip(t, []*backend.Job{full, plain, nil})
	if len(got) != 3 || got[2] != nil {
		t.Fatalf("jobs after round trip: %v", got)
	}
	for i, want := range []*backend.Job{full, plain} {
		if err := sameJob(got[i], want); err != nil {
			t.Errorf("job %d: %v", i, err)
		}
	}
	if k, until := got[0].Unique(); k != "lock\x00\xff" || until.UnixMilli() != full.CreatedAt.UnixMilli() {
		t.Errorf("unique lock after the round trip: %q %v", k, until)
	}
	if got[1].Args == nil || got[1].Backtrace != nil {
		t.Errorf("nil/empty bytes not kept: Args %#v Backtrace %#v", got[1].Args, got[1].Backtrace)
	}
	if got[0].FailedAt.Nanosecond() != full.FailedAt.Nanosecond() {
		t.Errorf("nanoseconds lost: %v vs %v", got[0].FailedAt, full.FailedAt)
	}
}

func TestFetchedRoundTrip(t *testing.T) {
	job := everyFieldJob(t)
	raw, _ := job.MarshalBinary()
	garbage := []byte{0xff, 0x00, 0x13}
	_, decodeErr := backend.DecodeJob(garbage)
	if decodeErr == nil {
		t.Fatal("garbage decoded")
	}
	fetched := []*backend.Fetched{
		{Job: job, Raw: raw},
		{Job: &backend.Job{ID: backend.MalformedJobID(garbage), Queue: "q"}, Raw: garbage, Malformed: decodeErr},
		// A backend's own wording of "does not decode" still reads as malformed.
		{Job: &backend.Job{ID: "m2", Queue: "q"}, Raw: []byte("x"), Malformed: errors.New("truncated")},
	}
	wire := make([]*wireFetched, len(fetched))
	for i, f := range fetched {
		wire[i] = toWireFetched(f)
	}
	for i, wf := range roundTrip(t, wire) {
		got, want := fromWireFetched(wf), fetched[i]
		if err := sameJob(got.Job, want.Job); err != nil {
			t.Errorf("fetched %d: %v", i, err)
		}
		if string(got.Raw) != string(want.Raw) {
			t.Errorf("fetched %d: Raw %x, want %x", i, got.Raw, want.Raw)
		}
		switch {
		case want.Malformed == nil && got.Malformed != nil:
			t.Errorf("fetched %d: Malformed = %v, want nil", i, got.Malformed)
		case want.Malformed != nil && (!errors.Is(got.Malformed, backend.ErrMalformedJob) || got.Malformed.Error() != want.Malformed.Error()):
			t.Errorf("fetched %d: Malformed = %v, want %q wrapping ErrMalformedJob", i, got.Malformed, want.Malformed)
		}
	}
}

func TestResultRoundTrip(t *testing.T) {
	job := everyFieldJob(t)
	raw, _ := job.MarshalBinary()
	retryAt := time.Date(2030, 1, 2, 3, 4, 5, 6, time.UTC)
	r := &wireResult{
		Fetched: toWireFetched(&backend.Fetched{Job: job, Raw: raw}), Outcome: backend.OutcomeRetry,
		Job: job.Clone(), RetryAt: retryAt, Duration: 1234567 * time.Nanosecond,
	}
	got := roundTrip(t, completeParams{"p", []*wireResult{r}}).B[0]
	if got.Outcome != r.Outcome || !got.RetryAt.Equal(retryAt) || got.Duration != r.Duration || string(got.Fetched.Raw) != string(raw) {
		t.Fatalf("result after round trip: %+v", got)
	}
	if err := sameJob(got.Job, r.Job); err != nil {
		t.Fatal(err)
	}
}

// Every error a caller branches on keeps its identity across the wire, and
// its message; other errors keep their message.
func TestErrorsKeepIdentity(t *testing.T) {
	for _, c := range codes() {
		err := fmt.Errorf("joblot: batch b1: %w", c.err)
		got := decodeError(roundTrip(t, encodeError(err)))
		if !errors.Is(got, c.err) || got.Error() != err.Error() {
			t.Errorf("%s: got %v (Is = %v), want %q wrapping it", c.code, got, errors.Is(got, c.err), err)
		}
	}
	plain := decodeError(roundTrip(t, encodeError(errors.New("disk on fire"))))
	if plain.Error() != "disk on fire" || errors.Unwrap(plain) != nil {
		t.Errorf("plain error = %v (unwraps to %v)", plain, errors.Unwrap(plain))
	}
	if decodeError(roundTrip(t, encodeError(nil))) != nil {
		t.Error("nil error came back non-nil")
	}
	// An error wrapping a deadline is not mistaken for a cancellation.
	ctx, cancel := context.WithTimeout(context.Background(), -time.Second)
	defer cancel()
	if got := decodeError(encodeError(fmt.Errorf("fetch: %w", ctx.Err()))); !errors.Is(got, context.DeadlineExceeded) {
		t.Errorf("deadline error came back as %v", got)
	}
}
