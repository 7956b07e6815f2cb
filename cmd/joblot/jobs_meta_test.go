package main

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// A job's metadata shows in listings on one line, sorted, escaped and
// bounded, however much of it a job carries.
func TestMetaCell(t *testing.T) {
	if got := metaCell(nil); got != "" {
		t.Fatalf("metaCell(nil) = %q", got)
	}
	if got, want := metaCell(map[string]string{"tenant": "acme", "req": "r-1"}), "req=r-1 tenant=acme"; got != want {
		t.Fatalf("metaCell = %q, want %q", got, want)
	}
	got := metaCell(map[string]string{nasty: strings.Repeat("x", 10_000)})
	checkTerminalSafe(t, "metaCell", got, true)
	if n := utf8.RuneCountInString(got); n > 60 || !strings.HasPrefix(got, nastyShown) {
		t.Fatalf("metaCell of long nasty metadata = %q (%d runes)", got, n)
	}
}
