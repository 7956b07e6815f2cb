package backend

import (
	"testing"
	"time"
)

func TestJobUniqueRoundTrip(t *testing.T) {
	until := time.UnixMilli(time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC).UnixMilli())
	j := &Job{ID: "u", Kind: "k"}
	if k, u := j.Unique(); k != "" || !u.IsZero() {
		t.Fatalf("a plain job's lock: %q %v", k, u)
	}
	// A field of a newer writer stays beside the lock, before and after.
	raw, _ := j.MarshalBinary()
	raw = appendString(raw, 99, "newer")
	j, _ = DecodeJob(raw)
	j.SetUnique("key-1", until)
	j.SetUnique("key-2", time.Time{}) // replaces, does not add
	j.SetUnique("key-3", until)
	raw, _ = j.MarshalBinary()
	got, err := DecodeJob(raw)
	if err != nil {
		t.Fatal(err)
	}
	if k, u := got.Unique(); k != "key-3" || !u.Equal(until) {
		t.Fatalf("lock after a round trip: %q %v, want key-3 %v", k, u, until)
	}
	if v, ok := extField(got.UnknownFields, 99); !ok || string(v) != "newer" {
		t.Fatalf("the newer field: %q %v", v, ok)
	}
	c := got.Clone()
	c.SetUnique("", time.Time{})
	if c.UniqueKey() != "" || got.UniqueKey() != "key-3" {
		t.Fatalf("cleared clone %q, original %q", c.UniqueKey(), got.UniqueKey())
	}
	if v, ok := extField(c.UnknownFields, 99); !ok || string(v) != "newer" {
		t.Fatalf("clearing the lock dropped the newer field: %x", c.UnknownFields)
	}
	// Without a lock and without other fields, nothing is left.
	p := &Job{ID: "p"}
	p.SetUnique("k", time.Time{})
	p.SetUnique("", time.Time{})
	if p.UnknownFields != nil {
		t.Fatalf("UnknownFields = %x after clearing the only field", p.UnknownFields)
	}
}
