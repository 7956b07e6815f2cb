package cleanup

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/redis/rueidis"
)

// Cleanup removes a key only when both its name and its Redis type are
// those of the family it cleans. A key that is named like one but differs
// (another application's key, a key written by hand) is left alone and
// reported as kept, and the run goes on.

// batchKeyTypes are the keys of a joblot batch, "{jl:b:<id>}:<suffix>",
// and their Redis types (backend/redis/keys.go has the layout).
var batchKeyTypes = map[string]string{
	"meta":   "hash",
	"bits":   "string",
	"errs":   "hash",
	"outbox": "list",
	"kids":   "set",
	"kidsc":  "set",
	"kidss":  "set",
	"adds":   "hash",
}

// batchKeyType returns the Redis type a batch key must have, or false when
// its suffix is not one of a joblot batch's.
func batchKeyType(k string) (string, bool) {
	i := strings.IndexByte(k, '}')
	if i < 0 || !strings.HasPrefix(k[i+1:], ":") {
		return "", false
	}
	typ, ok := batchKeyTypes[k[i+2:]]
	return typ, ok
}

// isWrongType reports a Redis WRONGTYPE error: a key of the expected name
// holds another type.
func isWrongType(err error) bool {
	re, ok := rueidis.IsRedisErr(err)
	return ok && strings.HasPrefix(re.Error(), "WRONGTYPE")
}

// failinfoSamples is the COUNT of the HSCAN step whose entries must look
// like Sidekiq Pro's failinfo (jid fields, JSON values); a small hash
// answers with all its entries.
const failinfoSamples = 5

// isJID reports whether s looks like a Sidekiq jid: 24 lowercase hex
// digits (SecureRandom.hex(12)).
func isJID(s string) bool {
	if len(s) != 24 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// failinfoEntries returns the field-value pairs of an HSCAN step.
func failinfoEntries(res rueidis.RedisResult) ([][2]string, error) {
	e, err := res.AsScanEntry()
	if err != nil {
		return nil, err
	}
	out := make([][2]string, 0, len(e.Elements)/2)
	for i := 0; i+1 < len(e.Elements); i += 2 {
		out = append(out, [2]string{e.Elements[i], e.Elements[i+1]})
	}
	return out, nil
}

// notFailinfo returns why sampled entries are not Sidekiq Pro failinfo
// (jid -> JSON), or "" if they are.
func notFailinfo(entries [][2]string) string {
	if len(entries) == 0 {
		return "named like a failinfo hash but has no entries to recognise"
	}
	for _, e := range entries {
		if !isJID(e[0]) {
			return "named like a failinfo hash but field " + shown(e[0], 40) + " is not a Sidekiq jid"
		}
		if !json.Valid([]byte(e[1])) {
			return "named like a failinfo hash but the value of field " + e[0] + " is not JSON"
		}
	}
	return ""
}

// maxShownKey bounds a key name in a report.
const maxShownKey = 256

// shownKey is k as a report shows it: as is when it is printable and
// short, else quoted with Go escapes and cut to maxShownKey bytes. Reports
// reach terminals and web pages, and key names hold anything.
func shownKey(k string) string { return shown(k, maxShownKey) }

// shown is s as is if printable and at most max bytes, else quoted, cut to
// max bytes of s and marked with its full length.
func shown(s string, max int) string {
	if len(s) <= max && printable(s) {
		return s
	}
	if len(s) <= max {
		return strconv.Quote(s)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return strconv.Quote(s[:cut]) + "... (" + strconv.Itoa(len(s)) + " bytes)"
}

// printable reports whether s is valid UTF-8 with neither control nor
// invisible formatting characters (bidi controls) nor a leading quote (so
// a quoted form is never ambiguous).
func printable(s string) bool {
	if strings.HasPrefix(s, `"`) {
		return false
	}
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) && r != ' ' || unicode.Is(unicode.Cf, r) {
			return false
		}
	}
	return true
}
