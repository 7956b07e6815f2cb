package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/redistest"
)

// FuzzServeRequest sends arbitrary bodies to every method the owner serves
// (the bytes another local process may write to the socket): each answer
// is JSON — a result, or a clear refusal — and nothing a request carries
// makes the backend or an adapter panic (callSafely would turn a panic
// into a "backend panicked" error, which this fuzzer reports).
func FuzzServeRequest(f *testing.F) {
	// A Redis store: the embedded one imports this package (its owner
	// serves it), which an internal test cannot import back.
	srv := redistest.Start(f)
	b, err := redis.Open(context.Background(), redis.Options{URL: srv.URL})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = b.Close() })
	h := Server{}.withDefaults().newHandler(b, &sync.RWMutex{})
	var methods []string
	for _, it := range []reflect.Type{
		reflect.TypeFor[backend.Backend](), reflect.TypeFor[backend.Quieter](), reflect.TypeFor[backend.OutputStore](),
		reflect.TypeFor[backend.MemoryReporter](),
	} {
		for i := range it.NumMethod() {
			methods = append(methods, it.Method(i).Name)
		}
	}
	methods = append(methods, "Hello")
	for i, body := range []string{
		`{}`, `null`, `[]`, `{"a":"p","b":[null]}`, `{"a":"p","b":[{"fetched":null}]}`, `[{"id":"x"}]`,
		`{"jobs":[{"raw":"AQMBeA=="}]}`, `{"a":{"id":""},"b":-1}`, `{"ID":"b","Jobs":[null]}`, `"x"`, `{"a":"q","b":"\u0000"}`,
	} {
		f.Add(uint8(i*7), []byte(body))
	}
	f.Fuzz(func(t *testing.T, m uint8, body []byte) {
		method := methods[int(m)%len(methods)]
		req := httptest.NewRequest(http.MethodPost, "/v1/"+method, bytes.NewReader(body))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if strings.Contains(rec.Body.String(), "backend panicked") {
			t.Fatalf("%s with body %q: %s", method, body, rec.Body.String())
		}
		if rec.Code != http.StatusNotFound && rec.Code != http.StatusMethodNotAllowed && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s with body %q answered %d with non-JSON %q", method, body, rec.Code, rec.Body.String())
		}
	})
}
