package main

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// TestErrorCellKeepsTheEnd: two timeouts that differ only in their URL's
// tail stay apart in a 60-rune column, and nothing raw reaches the terminal.
func TestErrorCellKeepsTheEnd(t *testing.T) {
	a := `Post "http://hooks.example.com/v1/customers/webhooks/41": joblot: job timed out after 300ms`
	b := `Post "http://hooks.example.com/v1/customers/webhooks/41": context canceled`
	ca, cb := errorCell(a, 60), errorCell(b, 60)
	if ca == cb || !strings.HasSuffix(ca, "timed out after 300ms") || !strings.HasPrefix(ca, "Post ") {
		t.Fatalf("errorCell = %q and %q: want the start and the distinguishing end of each", ca, cb)
	}
	if n := utf8.RuneCountInString(ca); n != 60 {
		t.Fatalf("errorCell is %d runes, want 60", n)
	}
	if got := errorCell("short\nmessage\x1b[2J", 60); got != `short message\x1b[2J` {
		t.Fatalf("errorCell of a short message = %q", got)
	}
}

// TestErrorCellKeepsEscapesWhole: where the cut falls inside an escaped
// control character, the escape is dropped whole rather than shown as a
// stray "\x" that reads like different text.
func TestErrorCellKeepsEscapesWhole(t *testing.T) {
	// 60 runes: 29 before the ellipsis, 30 after it. Each \x1b straddles
	// one of those cuts.
	msg := strings.Repeat("a", 27) + "\x1b" + strings.Repeat("m", 80) + "\x1b" + strings.Repeat("z", 28)
	got := errorCell(msg, 60)
	if strings.Count(got, `\x`) != strings.Count(got, `\x1b`) {
		t.Fatalf("errorCell = %q: an escape is cut", got)
	}
	if !strings.HasPrefix(got, strings.Repeat("a", 27)) || !strings.HasSuffix(got, strings.Repeat("z", 28)) {
		t.Fatalf("errorCell = %q: want the start and the end kept", got)
	}
	if n := utf8.RuneCountInString(got); n > 60 {
		t.Fatalf("errorCell is %d runes, want at most 60", n)
	}
}
