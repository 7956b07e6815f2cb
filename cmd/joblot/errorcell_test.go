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
