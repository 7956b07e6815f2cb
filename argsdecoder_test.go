package joblot

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// wideArgs has a field of every kind the fast path sets, and fields it
// leaves to json.Unmarshal or that encoding/json ignores.
type wideArgs struct {
	S     string   `json:"s"`
	B     bool     `json:"b,omitempty"`
	I     int      `json:"i"`
	I8    int8     `json:"i8"`
	I16   int16    `json:"i16"`
	I32   int32    `json:"i32"`
	I64   int64    `json:"i64"`
	U     uint     `json:"u"`
	U8    uint8    `json:"u8"`
	U16   uint16   `json:"u16"`
	U64   uint64   `json:"u64"`
	F32   float32  `json:"f32"`
	F64   float64  `json:"f64"`
	Named myString `json:"named"`
	Plain string   // under its Go name
	Bad   string   `json:"a\\b"` // an invalid tag: under its Go name
	Ñame  string   `json:"ñ"`
	Skip  string   `json:"-"`
	Dash  string   `json:"-,"` // named "-"
	P     *int     `json:"p"`
	L     []string `json:"l"`
	M     map[string]int
	T     time.Time `json:"t"`
	Any   any       `json:"any"`
	Case  string    `json:"case"`
	CASE  string    `json:"CASE"`
	hid   string
}

type myString string

// textArgs has a field that decodes itself.
type textArgs struct {
	Level level  `json:"level"`
	Name  string `json:"name"`
}

type level int

func (l *level) UnmarshalText(b []byte) error {
	if string(b) == "high" {
		*l = 2
		return nil
	}
	return errors.New("bad level")
}

// selfArgs decodes itself.
type selfArgs struct{ N int }

func (a *selfArgs) UnmarshalJSON(b []byte) error { a.N = len(b); return nil }

// embedArgs has an embedded struct, promoted by encoding/json's rules.
type embedArgs struct {
	greetArgs
	Extra string `json:"extra"`
}

// quotedArgs has a ",string" field.
type quotedArgs struct {
	N int `json:"n,string"`
}

// dupArgs has two fields named alike: the tagged one wins.
type dupArgs struct {
	X     string
	Other string `json:"X"`
}

// argsDecoderCases are inputs that take the fast path and inputs that
// must not.
var argsDecoderCases = []string{
	`{"name":"x","n":1}`, ` { "name" : "x" , "n" : -12 } `, "{\n\t\"n\":0}\r\n", `{}`, `{"name":"ünï"}`,
	`{"name":"x","n":1,"name":"y"}`, `{"Name":"x"}`, `{"NAME":"x"}`, `{"other":1}`, `{"name":"a\"b"}`,
	`{"name":"a\u00e9"}`, `{"name":null}`, `null`, `{"n":1.0}`, `{"n":1e2}`, `{"n":01}`, `{"n":-}`,
	`{"n":99999999999999999999}`, `{"n":"1"}`, `{"name":42}`, `{"name":"x"`, `{"name":"x",}`, `{"name":"x"} x`,
	`{"name":"x"}{}`, `[1]`, `"x"`, ``, `{"name":"` + "\xff" + `"}`, `{"name":"` + "\x01" + `"}`, `{"n":1,}`,
	`{"n":true}`, `{"n":-0}`, `{"n":1}  `, `{"n"  1}`, `{,}`, `{"n":1 "name":"x"}`, `{"n":tru}`,
	`{"s":"a","b":true,"i":-1,"i8":127,"i16":-32768,"i32":5,"i64":9223372036854775807,"u":1,"u8":255,"u16":65535,"u64":18446744073709551615,"f32":1.5e3,"f64":-0.25E-2,"named":"n","Plain":"p","ñ":"x","-":"d"}`,
	`{"i8":128}`, `{"u8":-1}`, `{"u":-0}`, `{"f32":1e39}`, `{"f64":1e400}`, `{"b":false}`, `{"b":falsey}`,
	`{"b":1}`, `{"Bad":"x"}`, `{"a\\b":"x"}`, `{"Skip":"x"}`, `{"hid":"x"}`, `{"p":1}`, `{"l":["a"]}`, `{"M":{"a":1}}`,
	`{"t":"2020-01-01T00:00:00Z"}`, `{"any":1}`, `{"case":"a","CASE":"b"}`, `{"Case":"a"}`, `{"f64":.5}`, `{"f64":5.}`,
	`{"f64":1e}`, `{"f64":-1.5e+7}`, `{"level":"high","name":"x"}`, `{"name":"x","level":"low"}`, `{"extra":"e","name":"x","n":2}`,
	`{"n":"7"}`, `{"x":"1"}`, `{"X":"1"}`,
}

// decodeBoth decodes data with an argsDecoder and with json.Unmarshal into
// fresh values of T and fails when results or errors differ.
func decodeBoth[T any](t *testing.T, data []byte) {
	t.Helper()
	var got, want T
	gotErr := newArgsDecoder(reflect.TypeFor[T]()).decode(data, &got)
	wantErr := json.Unmarshal(data, &want)
	if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) || !reflect.DeepEqual(got, want) {
		t.Fatalf("%T from %q: got %+v, %v; encoding/json gives %+v, %v", got, data, got, gotErr, want, wantErr)
	}
	var wantType, gotType *json.UnmarshalTypeError
	if errors.As(gotErr, &gotType) != errors.As(wantErr, &wantType) {
		t.Fatalf("%T from %q: error types differ: %T, %T", got, data, gotErr, wantErr)
	}
}

func decodeAll(t *testing.T, data []byte) {
	decodeBoth[greetArgs](t, data)
	decodeBoth[wideArgs](t, data)
	decodeBoth[textArgs](t, data)
	decodeBoth[selfArgs](t, data)
	decodeBoth[embedArgs](t, data)
	decodeBoth[quotedArgs](t, data)
	decodeBoth[dupArgs](t, data)
	decodeBoth[struct{}](t, data)
	decodeBoth[map[string]any](t, data)
}

// TestArgsDecoderMatchesEncodingJSON: whatever the input, args decode to
// the value and error json.Unmarshal gives.
func TestArgsDecoderMatchesEncodingJSON(t *testing.T) {
	for _, c := range argsDecoderCases {
		decodeAll(t, []byte(c))
	}
}

func FuzzArgsDecoder(f *testing.F) {
	for _, c := range argsDecoderCases {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) { decodeAll(t, data) })
}

// TestArgsDecoderFastPath: the usual args decode without json.Unmarshal,
// and what the fast path cannot decode exactly is left to it.
func TestArgsDecoderFastPath(t *testing.T) {
	fast := func(typ reflect.Type, data string) bool {
		d := newArgsDecoder(typ)
		return d.fields != nil && d.fast([]byte(data), reflect.New(typ).Elem())
	}
	greet, wide := reflect.TypeFor[greetArgs](), reflect.TypeFor[wideArgs]()
	for _, c := range []string{`{"name":"x","n":1}`, ` { "n" : -3 } `, `{}`, `{"name":"ünï"}`, `{"f64":-1.5e+7,"b":true,"u8":255}`} {
		typ := greet
		if strings.Contains(c, "f64") {
			typ = wide
		}
		if !fast(typ, c) {
			t.Errorf("%s: %q took the slow path", typ, c)
		}
	}
	for _, c := range []string{`{"Name":"x"}`, `{"other":1}`, `{"name":"a\"b"}`, `{"name":null}`, `{"n":1.5}`, `{"name":"x"} x`, `null`} {
		if fast(greet, c) {
			t.Errorf("%q took the fast path", c)
		}
	}
	for _, typ := range []reflect.Type{reflect.TypeFor[selfArgs](), reflect.TypeFor[embedArgs](), reflect.TypeFor[quotedArgs](), reflect.TypeFor[dupArgs](), reflect.TypeFor[map[string]any]()} {
		if newArgsDecoder(typ).fields != nil {
			t.Errorf("%s qualifies for the fast path", typ)
		}
	}
}

// BenchmarkArgsDecoder is the cost of decoding a job's args.
func BenchmarkArgsDecoder(b *testing.B) {
	data := []byte(`{"name":"someone","n":12345}`)
	b.Run("fast", func(b *testing.B) {
		d := newArgsDecoder(reflect.TypeFor[greetArgs]())
		b.ReportAllocs()
		for b.Loop() {
			var a greetArgs
			if err := d.decode(data, &a); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var a greetArgs
			if err := json.Unmarshal(data, &a); err != nil {
				b.Fatal(err)
			}
		}
	})
}
