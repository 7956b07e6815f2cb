package joblototel

import (
	"context"
	"strings"
	"testing"
	"unicode/utf8"

	"go.opentelemetry.io/otel/baggage"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// A span context with a tracestate survives the trip through a job's
// binary trace context: 26 bytes plus the tracestate, nothing in the
// metadata.
func TestCarrierRoundTrip(t *testing.T) {
	ts, err := trace.ParseTraceState("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE")
	if err != nil {
		t.Fatal(err)
	}
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled,
		TraceState: ts,
	})
	prop := propagation.TraceContext{}
	var meta map[string]string
	c := &carrier{setMeta: func(k, v string) { meta = map[string]string{k: v} }}
	prop.Inject(trace.ContextWithSpanContext(context.Background(), sc), c)
	stored := c.traceContext()
	if len(stored) != traceparentLen+len(ts.String()) || meta != nil {
		t.Fatalf("stored %d bytes (%x) and metadata %q, want %d bytes and none", len(stored), stored, meta, traceparentLen+len(ts.String()))
	}
	got := trace.SpanContextFromContext(prop.Extract(context.Background(), readCarrier(stored, nil)))
	if !got.Equal(sc.WithRemote(true)) {
		t.Fatalf("extracted %+v, want %+v", got, sc)
	}
}

// A traceparent that is not the W3C text form is dropped rather than
// stored wrong, and a stored trace context too short to hold one reads as
// none.
func TestCarrierRejectsMalformed(t *testing.T) {
	for _, tp := range []string{
		"",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",        // short
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra", // long
		"00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",       // separator
		"00-4bf92f3577b34da6a3ce929d0e0e473x-00f067aa0ba902b7-01",       // not hex
	} {
		c := &carrier{}
		c.Set("traceparent", tp)
		if b := c.traceContext(); b != nil {
			t.Errorf("traceparent %q stored as %x", tp, b)
		}
	}
	c := readCarrier([]byte{0, 1, 2}, nil)
	if got := c.Get("traceparent"); got != "" {
		t.Fatalf("3 stored bytes read as traceparent %q", got)
	}
}

// A propagator's other fields (baggage here) travel in the job's metadata.
func TestCarrierOtherFieldsInMeta(t *testing.T) {
	member, err := baggage.NewMember("tenant", "acme")
	if err != nil {
		t.Fatal(err)
	}
	bag, err := baggage.New(member)
	if err != nil {
		t.Fatal(err)
	}
	prop := propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})
	meta := map[string]string{}
	c := &carrier{meta: meta, setMeta: func(k, v string) { meta[k] = v }}
	prop.Inject(baggage.ContextWithBaggage(context.Background(), bag), c)
	if !strings.Contains(meta["baggage"], "tenant=acme") {
		t.Fatalf("metadata %q carries no baggage", meta)
	}
	got := baggage.FromContext(prop.Extract(context.Background(), readCarrier(nil, meta)))
	if got.Member("tenant").Value() != "acme" {
		t.Fatalf("extracted baggage %q", got)
	}
}

// truncate never splits a UTF-8 sequence and never exceeds its bound.
func TestTruncate(t *testing.T) {
	s := strings.Repeat("é", 10) // 2 bytes each
	for n := 0; n <= len(s)+1; n++ {
		got := truncate(s, n)
		if len(got) > n || !strings.HasPrefix(s, got) || len(got) < min(n, len(s))-1 {
			t.Fatalf("truncate(%d) = %q (%d bytes)", n, got, len(got))
		}
		if !utf8.ValidString(got) {
			t.Fatalf("truncate(%d) split a character: %q", n, got)
		}
	}
}
