package backend

import (
	"time"
	"unicode/utf8"
)

// PoisonPillClass is the error class of a job that went dead as a poison
// pill (recovered MaxRecoveries times in a row). Its fingerprint is
// FallbackFingerprint(kind, PoisonPillClass), so every poison pill of one
// kind falls into one error group.
const PoisonPillClass = "joblot.PoisonPill"

// MarkPoisonPill records on j that it dies now as a poison pill. Recovery
// calls it on every backend; the backend then stores j in the dead set.
func (j *Job) MarkPoisonPill(now time.Time) {
	j.ErrorClass = PoisonPillClass
	j.ErrorMessage = PoisonPillMessage
	j.ErrorFingerprint = FallbackFingerprint(j.Kind, PoisonPillClass)
	j.FailedAt, j.DiedAt = now, now
}

// FallbackFingerprint is the error group of a failure that carries no
// fingerprint of its own: its kind and error class.
func FallbackFingerprint(kind, class string) string {
	return kind + "|" + class
}

// Fingerprint is the error group j's last failure counts in: its
// ErrorFingerprint, or FallbackFingerprint when it has none.
func (j *Job) Fingerprint() string {
	if j.ErrorFingerprint != "" {
		return j.ErrorFingerprint
	}
	return FallbackFingerprint(j.Kind, j.ErrorClass)
}

// TruncateUTF8 cuts s to at most n bytes without splitting a UTF-8
// sequence, so a stored message stays valid text.
func TruncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n <= 0 {
		return ""
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// ErrorSample is the sample message an error group keeps: msg cut to
// ErrorSampleBytes on a rune boundary.
func ErrorSample(msg string) string {
	return TruncateUTF8(msg, ErrorSampleBytes)
}
