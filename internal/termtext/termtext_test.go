package termtext

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestEscape(t *testing.T) {
	for in, want := range map[string]string{
		"mail":                   "mail",
		"café — 東京":              "café — 東京",
		`back\slash`:             `back\slash`,
		"\x1b[2J":                `\x1b[2J`,
		"a\nb\tc\rd":             `a\nb\tc\rd`,
		"bell\a del\x7f nul\x00": `bell\x07 del\x7f nul\x00`,
		"csi\u009b2J":            `csi\u009b2J`,
		"nel\u0085":              `nel\u0085`,
		"bad\xffutf8\xc3":        `bad\xffutf8\xc3`,
		"evil\u202egnp.exe":      `evil\u202egnp.exe`,
		"iso\u2066x\u2069":       `iso\u2066x\u2069`,
		"line\u2028sep":          `line\u2028sep`,
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCell(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"eleven runes", 10, "eleven ru…"},
		{"東京東京東京東京東京東京", 5, "東京東京…"},
		{"ab\x1b[2J", 5, `ab…`},         // the escape \x1b does not fit: not cut in half
		{"ab\x1b[2J", 7, `ab\x1b…`},     // it does
		{"no bound\n", 0, `no bound\n`}, // max < 1
	} {
		if got := Cell(tc.in, tc.max); got != tc.want {
			t.Errorf("Cell(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

func TestMiddle(t *testing.T) {
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"short", 10, "short"},
		{"timed out: http://a/41", 11, "timed…/a/41"},
		{"東京東京東京大阪", 5, "東京…大阪"},
		{"ab\x1bcdef\x1bgh", 9, `ab…gh`},          // both escapes straddle a cut: dropped whole
		{"abcdefgh\x1bxyz", 14, `abcdef…\x1bxyz`}, // an escape that fits is kept
		{"no bound\n", 0, `no bound\n`},           // max < 1
		{"ab\xffcd", 4, `a…cd`},                   // invalid UTF-8 escaped from the end too
	} {
		if got := Middle(tc.in, tc.max); got != tc.want {
			t.Errorf("Middle(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
	}
}

// checkSafe fails t if out holds anything a terminal acts on.
func checkSafe(t *testing.T, in, out string) {
	t.Helper()
	if !utf8.ValidString(out) {
		t.Fatalf("Escape(%q) = %q: invalid UTF-8", in, out)
	}
	for _, r := range out {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || unsafeRune(r) {
			t.Fatalf("Escape(%q) = %q holds %U", in, out, r)
		}
	}
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "mail", "\x1b]0;title\a", "\n\t\r", "\u009b31m", "\xff\xfe", "\xe2\x80", "東京\u202e"} {
		f.Add(s, 8)
	}
	f.Fuzz(func(t *testing.T, s string, max int) {
		checkSafe(t, s, Escape(s))
		raw, _ := json.Marshal(s)
		j := JSON(raw)
		checkSafe(t, s, string(j))
		var back, want string
		if err := json.Unmarshal(j, &back); err != nil || json.Unmarshal(raw, &want) != nil || back != want {
			t.Fatalf("JSON(%q) = %q decodes to %q (%v), want %q", raw, j, back, err, want)
		}
		if max < 1 || max > 1000 {
			return
		}
		c := Cell(s, max)
		checkSafe(t, s, c)
		if n := utf8.RuneCountInString(c); n > max {
			t.Fatalf("Cell(%q, %d) = %q: %d runes", s, max, c, n)
		}
		if e := Escape(s); utf8.RuneCountInString(e) <= max && c != e {
			t.Fatalf("Cell(%q, %d) = %q cut what fits (%q)", s, max, c, e)
		}
		if c != Escape(s) && !strings.HasSuffix(c, Ellipsis) {
			t.Fatalf("Cell(%q, %d) = %q was cut without %q", s, max, c, Ellipsis)
		}
		m := Middle(s, max)
		checkSafe(t, s, m)
		if n := utf8.RuneCountInString(m); n > max {
			t.Fatalf("Middle(%q, %d) = %q: %d runes", s, max, m, n)
		}
		if (m == Escape(s)) != (c == Escape(s)) {
			t.Fatalf("Middle(%q, %d) = %q cuts unlike Cell (%q)", s, max, m, c)
		}
	})
}

// encoding/json leaves DEL, C1 controls and bidi overrides raw; JSON
// escapes them and the text still decodes to the same value.
func TestJSON(t *testing.T) {
	in := map[string]string{"name": "del\x7f csi\u009b2J nel\u0085 rlo\u202e ok é 東京 esc\x1b nl\n bad\xff"}
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.ContainsRune(string(raw), 0x9b) || !strings.ContainsRune(string(raw), 0x7f) {
		t.Fatalf("encoding/json escaped C1 and DEL itself (%q): JSON is no longer needed for them", raw)
	}
	out := JSON(raw)
	checkSafe(t, string(raw), string(out))
	var back, want map[string]string
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatalf("JSON(%q) = %q: %v", raw, out, err)
	}
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	if back["name"] != want["name"] {
		t.Errorf("JSON changed the value: %q, want %q", back["name"], want["name"])
	}
	if plain := []byte(`{"a":"b"}`); &JSON(plain)[0] != &plain[0] {
		t.Errorf("JSON copied text that needs no escape")
	}
}
