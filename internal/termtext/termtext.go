// Package termtext makes stored text safe to print on a terminal. Queue
// names, job kinds, batch descriptions and error messages come from
// whoever enqueues jobs; printed raw, an escape sequence in one is acted on
// by the operator's terminal (clearing it, rewriting what is shown, setting
// its title), and a newline or tab breaks a table's rows and columns.
package termtext

import (
	"strings"
	"unicode/utf8"
)

// Ellipsis ends text that Cell shortened.
const Ellipsis = "…"

const hexDigits = "0123456789abcdef"

// Escape returns s with every character a terminal would act on, or that
// would break a line or a table, written as a visible escape: \n, \r and
// \t; other C0 controls and DEL as \xNN; C1 controls (U+0080–U+009F, which
// some terminals take as escape sequences) and the format characters that
// reorder or break displayed text (bidirectional marks, embeddings,
// overrides and isolates, and the line and paragraph separators) as
// \uNNNN; and each byte of invalid UTF-8 as \xNN. Printable text, Unicode
// included, is unchanged, and so is a backslash: the escapes are for
// reading, not for decoding back.
func Escape(s string) string {
	if clean(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		writeRune(&b, s[i:i+size], r, size)
		i += size
	}
	return b.String()
}

// Cell is Escape for a table cell or a line of a report: the escaped text
// is cut to at most max runes, ending in Ellipsis when cut, and never in
// the middle of an escape. A max below 1 means no bound.
func Cell(s string, max int) string {
	e := Escape(s)
	if max < 1 || utf8.RuneCountInString(e) <= max {
		return e
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		var piece strings.Builder
		writeRune(&piece, s[i:i+size], r, size)
		pn := utf8.RuneCountInString(piece.String())
		if n+pn > max-1 {
			break
		}
		b.WriteString(piece.String())
		n += pn
		i += size
	}
	b.WriteString(Ellipsis)
	return b.String()
}

// Middle is Cell for text whose end matters as much as its start (a
// wrapped error puts its cause last): when cut, it keeps the start and the
// end around Ellipsis, in at most max runes and never in the middle of an
// escape. A max below 1 means no bound.
func Middle(s string, max int) string {
	e := Escape(s)
	if max < 1 || utf8.RuneCountInString(e) <= max {
		return e
	}
	headMax := (max - 1) / 2
	tailMax := max - 1 - headMax
	var head strings.Builder
	n, i := 0, 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		p := escapeRune(s[i:i+size], r, size)
		pn := utf8.RuneCountInString(p)
		if n+pn > headMax {
			break
		}
		head.WriteString(p)
		n += pn
		i += size
	}
	// The end is collected backwards, one escaped rune at a time, and
	// never reaches into what the start kept.
	var tail []string
	n = 0
	for j := len(s); j > i; {
		r, size := utf8.DecodeLastRuneInString(s[i:j])
		p := escapeRune(s[j-size:j], r, size)
		pn := utf8.RuneCountInString(p)
		if n+pn > tailMax {
			break
		}
		tail = append(tail, p)
		n += pn
		j -= size
	}
	head.WriteString(Ellipsis)
	for k := len(tail) - 1; k >= 0; k-- {
		head.WriteString(tail[k])
	}
	return head.String()
}

// escapeRune is one decoded rune as Escape writes it.
func escapeRune(raw string, r rune, size int) string {
	var b strings.Builder
	writeRune(&b, raw, r, size)
	return b.String()
}

// clean reports whether s needs no escape, without allocating: the usual
// case of plain ASCII names and messages.
func clean(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

// writeRune writes one decoded rune (raw is its bytes in the input),
// escaped when it must be.
func writeRune(b *strings.Builder, raw string, r rune, size int) {
	switch {
	case r == utf8.RuneError && size == 1:
		writeHexByte(b, raw[0])
	case r == '\n':
		b.WriteString(`\n`)
	case r == '\r':
		b.WriteString(`\r`)
	case r == '\t':
		b.WriteString(`\t`)
	case r < 0x20 || r == 0x7f:
		writeHexByte(b, byte(r))
	case unsafeRune(r):
		b.WriteString(`\u`)
		for shift := 12; shift >= 0; shift -= 4 {
			b.WriteByte(hexDigits[(r>>shift)&0xf])
		}
	default:
		b.WriteString(raw)
	}
}

func writeHexByte(b *strings.Builder, c byte) {
	b.WriteString(`\x`)
	b.WriteByte(hexDigits[c>>4])
	b.WriteByte(hexDigits[c&0xf])
}

// Unsafe reports whether Escape escapes r: C0 controls, DEL, C1 controls,
// and the format characters that change the order or the lines of what is
// displayed. Other escapers of stored text (metric labels) use it so that
// they escape the same characters, however they spell the escape.
func Unsafe(r rune) bool { return r < 0x20 || r == 0x7f || unsafeRune(r) }

// unsafeRune reports the non-ASCII runes Escape escapes: C1 controls, and
// the format characters that change the order or the lines of what is
// displayed.
func unsafeRune(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f: // C1 controls; U+009B is CSI
		return true
	case r == 0x200e || r == 0x200f: // left-to-right and right-to-left marks
		return true
	case r >= 0x2028 && r <= 0x202e: // line/paragraph separators, bidi embeddings and overrides
		return true
	case r >= 0x2066 && r <= 0x2069: // bidi isolates
		return true
	case r == 0x061c: // Arabic letter mark
		return true
	}
	return false
}

// JSON rewrites, in JSON text that encoding/json produced, the characters
// Escape escapes and encoding/json leaves raw (DEL, C1 controls, the
// bidirectional format characters; it escapes C0 controls, U+2028 and
// U+2029 itself and replaces invalid UTF-8) as \uNNNN escapes. Outside
// its strings JSON text is ASCII without DEL, so every such character is
// inside a string, where the escape means the same character: the result
// decodes to the same values. b is returned unchanged when it holds none.
func JSON(b []byte) []byte {
	i := 0
	for i < len(b) && b[i] < 0x7f {
		i++
	}
	if i == len(b) {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	out = append(out, b[:i]...)
	for i < len(b) {
		r, size := utf8.DecodeRune(b[i:])
		if r == 0x7f || unsafeRune(r) {
			out = append(out, '\\', 'u')
			for shift := 12; shift >= 0; shift -= 4 {
				out = append(out, hexDigits[(r>>shift)&0xf])
			}
		} else {
			out = append(out, b[i:i+size]...)
		}
		i += size
	}
	return out
}
