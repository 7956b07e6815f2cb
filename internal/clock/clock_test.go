package clock

import (
	"testing"
	"time"
)

func TestOrDefaultsToWallClock(t *testing.T) {
	before := time.Now()
	got := Or(nil)()
	if got.Before(before) || got.Sub(before) > time.Hour {
		t.Fatalf("Or(nil)() = %v, want about %v", got, before)
	}
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := Or(func() time.Time { return at })(); !got.Equal(at) {
		t.Fatalf("Or(f)() = %v, want %v", got, at)
	}
}

func TestFakeMovesOnlyWhenTold(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	f := NewFake(t0)
	if got := f.Now(); !got.Equal(t0) {
		t.Fatalf("Now = %v, want %v", got, t0)
	}
	if got := f.Advance(2 * time.Hour); !got.Equal(t0.Add(2 * time.Hour)) {
		t.Fatalf("Advance returned %v, want %v", got, t0.Add(2*time.Hour))
	}
	if got := f.Now(); !got.Equal(t0.Add(2 * time.Hour)) {
		t.Fatalf("Now after Advance = %v, want %v", got, t0.Add(2*time.Hour))
	}
	f.Set(t0)
	if got := f.Now(); !got.Equal(t0) {
		t.Fatalf("Now after Set = %v, want %v", got, t0)
	}
}
