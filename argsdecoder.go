package joblot

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// argsDecoder decodes the JSON args of one kind into its args type, as
// json.Unmarshal does, but cheaper for the usual case: a flat object of
// strings, numbers and booleans. json.Unmarshal scans its input twice (once
// to validate it, once to decode) and allocates its decoder state and
// error context on every call, which was a tenth of a worker's CPU per
// no-op job. The fast path decodes in one pass and gives up on anything it
// does not handle exactly as encoding/json would (escapes, null, unknown
// or case-folded keys, nested values, malformed input, out-of-range
// numbers); then the args are reset and json.Unmarshal decodes them, so
// results, errors and their messages are encoding/json's in every case.
type argsDecoder struct {
	// fields are the args type's fields by JSON name; nil when the type
	// does not qualify for the fast path (see newArgsDecoder).
	fields map[string]argsField
}

// argsField is one field of an args struct the fast path may set.
type argsField struct {
	index int
	kind  reflect.Kind // reflect.Invalid: a field only json.Unmarshal sets
	bits  int          // of an int, uint or float field
}

var (
	jsonUnmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// newArgsDecoder returns the decoder of args type t. The fast path is
// used for a struct without embedded fields, without fields sharing a
// JSON name, whose own decoding is encoding/json's (no UnmarshalJSON or
// UnmarshalText), and without ",string" fields; its fields of other kinds
// than string, bool and numbers are left to json.Unmarshal.
func newArgsDecoder(t reflect.Type) *argsDecoder {
	d := &argsDecoder{}
	if t.Kind() != reflect.Struct || hasCustomDecoding(t) {
		return d
	}
	fields := map[string]argsField{}
	for i := range t.NumField() {
		sf := t.Field(i)
		if sf.Anonymous {
			return d // embedded fields follow encoding/json's promotion rules
		}
		if !sf.IsExported() {
			continue
		}
		tag := sf.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		for opt := range strings.SplitSeq(opts, ",") {
			if opt == "string" {
				return d
			}
		}
		if !validJSONTag(name) {
			name = sf.Name
		}
		if _, dup := fields[name]; dup {
			return d // encoding/json's dominance rules decide
		}
		f := argsField{index: i}
		if !hasCustomDecoding(sf.Type) {
			switch k := sf.Type.Kind(); k {
			case reflect.String, reflect.Bool:
				f.kind = k
			case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
				reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
				reflect.Float32, reflect.Float64:
				f.kind, f.bits = k, sf.Type.Bits()
			}
		}
		fields[name] = f
	}
	d.fields = fields
	return d
}

// hasCustomDecoding reports whether values of t decode through their own
// UnmarshalJSON or UnmarshalText.
func hasCustomDecoding(t reflect.Type) bool {
	pt := reflect.PointerTo(t)
	return pt.Implements(jsonUnmarshalerType) || pt.Implements(textUnmarshalerType)
}

// validJSONTag is encoding/json's test of a tag name: an invalid one
// leaves the field under its Go name.
func validJSONTag(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case strings.ContainsRune("!#$%&()*+-./:;<=>?@[]^_{|}~ ", c):
		case !unicode.IsLetter(c) && !unicode.IsDigit(c):
			return false
		}
	}
	return true
}

// decode decodes data into v, a pointer to a zero value of the args type.
func (d *argsDecoder) decode(data []byte, v any) error {
	if d.fields != nil {
		rv := reflect.ValueOf(v).Elem()
		if d.fast(data, rv) {
			return nil
		}
		rv.SetZero() // undo what the fast path set before it gave up
	}
	return json.Unmarshal(data, v)
}

// fast decodes data into the struct rv and reports whether it could; when
// it could not, rv may be partly set.
func (d *argsDecoder) fast(data []byte, rv reflect.Value) bool {
	i := skipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return false
	}
	i = skipSpace(data, i+1)
	if i < len(data) && data[i] == '}' {
		return skipSpace(data, i+1) == len(data)
	}
	for {
		key, next, ok := plainString(data, i)
		if !ok {
			return false
		}
		f, known := d.fields[string(key)]
		if !known || f.kind == reflect.Invalid {
			return false // unknown, case-folded or not ours: json.Unmarshal's
		}
		i = skipSpace(data, next)
		if i >= len(data) || data[i] != ':' {
			return false
		}
		i = skipSpace(data, i+1)
		if i, ok = setField(data, i, rv.Field(f.index), f); !ok {
			return false
		}
		i = skipSpace(data, i)
		if i >= len(data) {
			return false
		}
		switch data[i] {
		case ',':
			i = skipSpace(data, i+1)
		case '}':
			return skipSpace(data, i+1) == len(data)
		default:
			return false
		}
	}
}

// setField decodes the value at data[i:] into fv, returning the index past
// it; ok is false when the value is not of the field's kind, not plain, or
// out of its range.
func setField(data []byte, i int, fv reflect.Value, f argsField) (int, bool) {
	switch f.kind {
	case reflect.String:
		s, next, ok := plainString(data, i)
		if !ok {
			return 0, false
		}
		fv.SetString(string(s))
		return next, true
	case reflect.Bool:
		switch {
		case hasLiteral(data, i, "true"):
			fv.SetBool(true)
			return i + 4, true
		case hasLiteral(data, i, "false"):
			fv.SetBool(false)
			return i + 5, true
		}
		return 0, false
	}
	lit, integer := number(data, i)
	if lit == nil {
		return 0, false
	}
	next := i + len(lit)
	switch f.kind {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(string(lit), 10, 64)
		if !integer || err != nil || fv.OverflowInt(n) {
			return 0, false
		}
		fv.SetInt(n)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(string(lit), 10, 64)
		if !integer || err != nil || fv.OverflowUint(n) {
			return 0, false
		}
		fv.SetUint(n)
	case reflect.Float32, reflect.Float64:
		n, err := strconv.ParseFloat(string(lit), f.bits)
		if err != nil || fv.OverflowFloat(n) {
			return 0, false
		}
		fv.SetFloat(n)
	default:
		return 0, false
	}
	return next, true
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON whitespace.
func skipSpace(data []byte, i int) int {
	for i < len(data) {
		switch data[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// plainString reads the JSON string at data[i:] if it has no escapes, no
// control characters and is valid UTF-8, the strings encoding/json keeps
// byte for byte; it returns the contents and the index past the closing
// quote.
func plainString(data []byte, i int) (s []byte, next int, ok bool) {
	if i >= len(data) || data[i] != '"' {
		return nil, 0, false
	}
	ascii := true
	for j := i + 1; j < len(data); j++ {
		switch c := data[j]; {
		case c == '"':
			s = data[i+1 : j]
			if !ascii && !utf8.Valid(s) {
				return nil, 0, false
			}
			return s, j + 1, true
		case c == '\\' || c < ' ':
			return nil, 0, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return nil, 0, false
}

// hasLiteral reports whether data[i:] starts with lit followed by a byte
// that may end a value.
func hasLiteral(data []byte, i int, lit string) bool {
	end := i + len(lit)
	return end <= len(data) && string(data[i:end]) == lit && (end == len(data) || endsValue(data[end]))
}

// endsValue reports whether c may follow a value inside an object.
func endsValue(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', ',', '}':
		return true
	}
	return false
}

// number returns the JSON number at data[i:] (nil if there is none, or it
// runs into a byte that cannot end a value) and whether it is an integer
// (no fraction, no exponent).
func number(data []byte, i int) (lit []byte, integer bool) {
	j := i
	if j < len(data) && data[j] == '-' {
		j++
	}
	switch {
	case j < len(data) && data[j] == '0':
		j++
	case j < len(data) && data[j] >= '1' && data[j] <= '9':
		j = digits(data, j)
	default:
		return nil, false
	}
	integer = true
	if j < len(data) && data[j] == '.' {
		k := digits(data, j+1)
		if k == j+1 {
			return nil, false
		}
		j, integer = k, false
	}
	if j < len(data) && (data[j] == 'e' || data[j] == 'E') {
		j++
		if j < len(data) && (data[j] == '+' || data[j] == '-') {
			j++
		}
		k := digits(data, j)
		if k == j {
			return nil, false
		}
		j, integer = k, false
	}
	if j < len(data) && !endsValue(data[j]) {
		return nil, false
	}
	return data[i:j], integer
}

// digits returns the index of the first byte at or after i that is not a
// decimal digit.
func digits(data []byte, i int) int {
	for i < len(data) && data[i] >= '0' && data[i] <= '9' {
		i++
	}
	return i
}
