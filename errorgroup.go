package joblot

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"io"
	"net"
	"os"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/joblot/joblot/backend"
)

// maxUnwrapDepth bounds the walk down an error chain, against an error
// that wraps itself.
const maxUnwrapDepth = 100

// maxClassMessageBytes bounds the message part of a class that names a
// sentinel by its message.
const maxClassMessageBytes = 64

// errorClass names an error's type the way an operator groups failures:
// the type of the innermost wrapped error, without the pointer star. Where
// an error wraps several (fmt.Errorf with two %w, errors.Join), it follows
// the first, the one errors.Is and errors.As look at first.
//
// Well-known sentinels are named as the code names them
// (joblot.ErrJobTimeout, context.DeadlineExceeded, io.EOF, ...). Other
// sentinels made by errors.New all share one type, so their class carries
// their message, normalised and bounded: fmt.Errorf("charge %s: %w", id,
// ErrDeclined) has the class errors.New("card declined") for every id, and
// ErrDeclined and ErrExpired stay two classes. A syscall.Errno carries its
// message the same way. The class never holds a newline or a control
// character.
func errorClass(err error) string {
	for range maxUnwrapDepth {
		var next error
		switch e := err.(type) {
		case interface{ Unwrap() error }:
			next = e.Unwrap()
		case interface{ Unwrap() []error }:
			for _, c := range e.Unwrap() {
				if c != nil {
					next = c
					break
				}
			}
		}
		if next == nil {
			break
		}
		err = next
	}
	if name := sentinelName(err); name != "" {
		return name
	}
	t := reflect.TypeOf(err)
	if t == nil {
		return "nil"
	}
	name := strings.TrimPrefix(t.String(), "*")
	switch name {
	case "errors.errorString", "fmt.wrapError", "fmt.wrapErrors":
		return messageClass("errors.New", err.Error())
	case "syscall.Errno":
		return messageClass(name, err.Error())
	}
	return name
}

// sentinelName names the well-known sentinel err is, or returns "".
func sentinelName(err error) string {
	switch err {
	case ErrJobTimeout:
		return "joblot.ErrJobTimeout"
	case ErrUnknownKind:
		return "joblot.ErrUnknownKind"
	case ErrUndecodableArgs:
		return "joblot.ErrUndecodableArgs"
	case ErrNotInBatch:
		return "joblot.ErrNotInBatch"
	case context.Canceled:
		return "context.Canceled"
	case context.DeadlineExceeded:
		return "context.DeadlineExceeded"
	case io.EOF:
		return "io.EOF"
	case io.ErrUnexpectedEOF:
		return "io.ErrUnexpectedEOF"
	case net.ErrClosed:
		return "net.ErrClosed"
	case os.ErrDeadlineExceeded:
		return "os.ErrDeadlineExceeded"
	}
	return ""
}

// messageClass is `fn("normalised msg")`, the message bounded and quoted
// as Go quotes strings.
func messageClass(fn, msg string) string {
	var n normalizer
	norm := n.normalize(msg)
	if len(norm) > maxClassMessageBytes {
		k := maxClassMessageBytes
		for k > 0 && !utf8.RuneStart(norm[k]) {
			k--
		}
		norm = norm[:k]
	}
	var buf [2*maxClassMessageBytes + 32]byte
	b := append(buf[:0], fn...)
	b = append(b, '(')
	b = strconv.AppendQuote(b, string(norm))
	b = append(b, ')')
	return string(b)
}

// fingerprintVersion prefixes every fingerprint errorFingerprint makes.
// Change it with the normalisation rules or the hashed fields, so that
// groups from two rule sets never merge by accident.
const fingerprintVersion = "2:"

// errorFingerprint identifies an error group: fingerprintVersion and the
// hash of the job kind, the error class and the normalised message (see
// appendNormalized).
//
// Fingerprints are stored with each failed job and never recomputed: a job
// that failed under an older version keeps its old fingerprint (version 1
// was 16 hex digits with no prefix), and a filter by error group
// (--error-group, backend.JobFilter.ErrorFingerprint) compares the stored
// value exactly, so such a job still matches its stored value, and a
// group of old jobs and one of new jobs of the same shape stay two groups
// until the old jobs are gone.
func errorFingerprint(kind, class, msg string) string {
	var n normalizer
	sum := fingerprintSum(kind, class, n.normalize(msg))
	var out [len(fingerprintVersion) + 16]byte
	copy(out[:], fingerprintVersion)
	hex.Encode(out[len(fingerprintVersion):], sum[:8])
	return string(out[:])
}

// fingerprintSum hashes kind, class and the normalised message, each
// ended by a NUL.
func fingerprintSum(kind, class string, norm []byte) [sha1.Size]byte {
	var buf [512]byte
	b := buf[:0]
	if len(kind)+len(class)+len(norm)+2 > len(buf) {
		b = make([]byte, 0, len(kind)+len(class)+len(norm)+2)
	}
	b = append(b, kind...)
	b = append(b, 0)
	b = append(b, class...)
	b = append(b, 0)
	b = append(b, norm...)
	return sha1.Sum(b)
}

// truncate cuts s to at most n bytes on a rune boundary, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = "…"
	return backend.TruncateUTF8(s, n-len(mark)) + mark
}
