package joblot

import (
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/joblot/joblot/backend"
)

// errorClass names an error's type the way an operator groups failures:
// the type of the innermost wrapped error, without the pointer star.
func errorClass(err error) string {
	for {
		u := errors.Unwrap(err)
		if u == nil {
			break
		}
		err = u
	}
	return strings.TrimPrefix(fmt.Sprintf("%T", err), "*")
}

// normalizeMessage folds the variable parts of an error message (numbers,
// hex ids, quoted values) so that "user 17 not found" and "user 42 not
// found" land in one error group.
func normalizeMessage(msg string) string {
	const maxLen = 200
	var b strings.Builder
	fields := strings.FieldsFunc(msg, func(r rune) bool { return unicode.IsSpace(r) })
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(normalizeToken(f))
		if b.Len() > maxLen {
			break
		}
	}
	return b.String()
}

func normalizeToken(tok string) string {
	if len(tok) >= 2 && (tok[0] == '"' || tok[0] == '\'') {
		return `"?"`
	}
	digits, hexish := 0, 0
	body := strings.TrimPrefix(strings.TrimPrefix(tok, "0x"), "0X")
	for _, r := range body {
		switch {
		case unicode.IsDigit(r):
			digits++
			hexish++
		case strings.ContainsRune("abcdefABCDEF-", r):
			hexish++
		}
	}
	n := utf8.RuneCountInString(body)
	switch {
	case digits > 0 && hexish == n && n >= 8:
		return "<id>"
	case digits > 0:
		var b strings.Builder
		inNum := false
		for _, r := range tok {
			if unicode.IsDigit(r) {
				if !inNum {
					b.WriteByte('N')
				}
				inNum = true
				continue
			}
			inNum = false
			b.WriteRune(r)
		}
		return b.String()
	}
	return tok
}

// errorFingerprint identifies an error group: job kind, error class and
// normalised message.
func errorFingerprint(kind, class, msg string) string {
	sum := sha1.Sum([]byte(kind + "\x00" + class + "\x00" + normalizeMessage(msg)))
	return hex.EncodeToString(sum[:8])
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	return backend.TruncateUTF8(s, n-len(mark)) + mark
}
