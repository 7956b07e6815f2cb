package backend

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"
)

// deadJobs are jobs as they die: every combination of the times the dead
// entry stores as offsets or leaves out.
func deadJobs() []*Job {
	ms := func(t time.Time) time.Time { return time.UnixMilli(t.UnixMilli()) }
	now := ms(time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC))
	full := &Job{
		ID: NewJobID(), Kind: "email", Queue: "mail", Args: []byte(`{"to":"ada"}`),
		Attempt: 3, MaxRetries: -1, Timeout: 1500 * time.Millisecond,
		CreatedAt: now.Add(-time.Hour), RunAt: now.Add(time.Hour),
		BatchID: "b1", BatchIndex: 0, CallbackOf: "b0", CallbackEvent: CallbackDeath,
		ErrorClass: "panic", ErrorMessage: "boom", ErrorFingerprint: "2:f69b1f7433939dbb", Backtrace: []byte{1, 2, 3},
		FailedAt: now, DiedAt: now, Recoveries: 2, ManualRetry: true,
		Meta: map[string]string{"tenant": "acme"}, TraceContext: "\x00\x01\x02", Snoozes: 7,
		UnknownFields: []byte{40<<1 | wireVarint, 4},
	}
	failedEarlier := *full
	failedEarlier.FailedAt = now.Add(-time.Minute)
	noFailed := *full
	noFailed.FailedAt = time.Time{}
	noDied := *full
	noDied.DiedAt = time.Time{}
	noTimes := &Job{ID: "custom id", Queue: "mail", Kind: "k"}
	createdAfter := &Job{ID: "x", Queue: "mail", CreatedAt: now.Add(time.Second), DiedAt: now, FailedAt: now}
	lower := &Job{ID: "06h3ac9iap9sl5j281hg", Queue: "mail", DiedAt: now, FailedAt: now}
	return []*Job{full, &failedEarlier, &noFailed, &noDied, noTimes, createdAfter, lower}
}

func TestDeadCodecRoundTrip(t *testing.T) {
	for i, j := range deadJobs() {
		for _, score := range []int64{j.DiedAt.UnixMilli(), j.DiedAt.UnixMilli() + 5, 0} {
			if j.DiedAt.IsZero() {
				score = 1
			}
			e := EncodeDead(j, score)
			ref := DeadDetailsRef(e.Shared)
			if len(ref) != DeadRefLen || DeadDetailsRef(e.Own) != ref {
				t.Fatalf("job %d: refs %q %q", i, ref, DeadDetailsRef(e.Own))
			}
			// Its message kept with the group, or another one.
			for _, c := range []struct {
				entry, message []byte
			}{{e.Shared, e.Message}, {e.Own, e.Message}, {e.Own, []byte("\x1f\x05other")}, {e.Own, nil}} {
				got, err := DecodeDead(c.entry, e.Group, c.message, j.Queue, score)
				if err != nil {
					t.Fatalf("job %d: %v", i, err)
				}
				if !reflect.DeepEqual(got, j) {
					t.Fatalf("job %d, score %d: round trip:\n got %+v\nwant %+v", i, score, got, j)
				}
			}
			// The inline form the store writes on a reference collision.
			inline := append(append([]byte{deadCodecInline}, e.Own[1+DeadRefLen:]...), e.Group[1:]...)
			if DeadDetailsRef(inline) != "" {
				t.Fatalf("job %d: an inline entry has a reference", i)
			}
			if got, err := DecodeDead(inline, nil, nil, j.Queue, score); err != nil || !reflect.DeepEqual(got, j) {
				t.Fatalf("job %d: inline round trip: %v\n got %+v\nwant %+v", i, err, got, j)
			}
			for _, e := range [][]byte{e.Shared, e.Own, inline} {
				if id := DeadEntryID(e); id != j.ID {
					t.Fatalf("job %d: DeadEntryID %q, want %q", i, id, j.ID)
				}
				p, ok := DeadEntryPrefix(e)
				if !ok || !bytes.HasPrefix(e, p) || len(p) >= len(e) {
					t.Fatalf("job %d: prefix %q of %q", i, p, e)
				}
			}
		}
	}
}

// Jobs that fail the same way share one group; the entry keeps what is
// the job's own.
func TestDeadCodecSharesGroup(t *testing.T) {
	a, b := deadJobs()[0], *deadJobs()[0]
	b.ID, b.Args, b.CreatedAt = NewJobID(), []byte(`{"to":"bob"}`), b.CreatedAt.Add(time.Second)
	b.ErrorMessage = "bang"
	ea := EncodeDead(a, a.DiedAt.UnixMilli())
	eb := EncodeDead(&b, b.DiedAt.UnixMilli())
	if !bytes.Equal(ea.Group, eb.Group) || DeadDetailsRef(ea.Shared) != DeadDetailsRef(eb.Shared) || bytes.Equal(ea.Message, eb.Message) {
		t.Fatalf("same failure, different groups: %q %q", ea.Group, eb.Group)
	}
	c := b
	c.ErrorClass = "other"
	if ec := EncodeDead(&c, c.DiedAt.UnixMilli()); bytes.Equal(ec.Group, eb.Group) || DeadDetailsRef(ec.Shared) == DeadDetailsRef(eb.Shared) {
		t.Fatal("another class, same group")
	}
}

// The bench's dead job (a 35-byte args object, one error shape): its entry
// must stay small enough that a dead job costs at most 200 bytes of Redis
// memory (backend/redis TestDeadJobMemory measures that): up to 76 bytes
// the member's string takes an 80-byte allocation.
func TestDeadCodecBenchShape(t *testing.T) {
	now := time.UnixMilli(1796188693510)
	j := &Job{
		ID: NewJobID(), Kind: "joblot_bench", Queue: "bench", Args: []byte(`{"n":16010,"t":1796188693510032278}`),
		Attempt: 1, MaxRetries: -1, CreatedAt: now.Add(-1130 * time.Millisecond),
		ErrorClass: `errors.New("bench: this job fails on purpose")`, ErrorMessage: "bench: this job fails on purpose",
		ErrorFingerprint: "2:f69b1f7433939dbb", FailedAt: now, DiedAt: now,
	}
	old, _ := j.MarshalBinary()
	entry := EncodeDead(j, now.UnixMilli()).Shared
	t.Logf("dead entry %d bytes (whole job %d)", len(entry), len(old))
	if len(entry) > 76 {
		t.Fatalf("dead entry of the bench's job is %d bytes, want at most 76: %q", len(entry), entry)
	}
}

// Entries of data model 3 (whole jobs) decode as before.
func TestDeadCodecReadsJobs(t *testing.T) {
	j := deadJobs()[0]
	raw, _ := j.MarshalBinary()
	got, err := DecodeDead(raw, nil, nil, "other", 1)
	if err != nil || !reflect.DeepEqual(got, j) {
		t.Fatalf("%v\n got %+v\nwant %+v", err, got, j)
	}
	if DeadDetailsRef(raw) != "" || DeadEntryID(raw) != j.ID {
		t.Fatal("a whole job read as a dead entry")
	}
	if _, ok := DeadEntryPrefix(raw); ok {
		t.Fatal("a whole job has a dead entry prefix")
	}
	for _, bad := range [][]byte{nil, {deadCodecRef}, {deadCodecRef, 1, 2, 3, 4, 5, 6, 7, 8, 0x80}, {deadCodecInline, 4, 'a'}, {deadCodecInline, 1, 1}} {
		if _, err := DecodeDead(bad, nil, nil, "q", 1); !errors.Is(err, ErrMalformedJob) {
			t.Fatalf("%q: %v", bad, err)
		}
		if id := DeadEntryID(bad); id != MalformedJobID(bad) {
			t.Fatalf("%q: id %q", bad, id)
		}
	}
}
