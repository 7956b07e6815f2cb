package joblototel

import (
	"encoding/hex"
	"slices"
	"strings"
)

// The W3C trace context headers, stored in binary form.
const (
	traceparentHeader = "traceparent"
	tracestateHeader  = "tracestate"
)

// traceparentLen is the binary traceparent: version, 16-byte trace id,
// 8-byte span id, flags. A tracestate, if any, follows it verbatim.
const traceparentLen = 1 + 16 + 8 + 1

// traceparentTextLen is the header's text form: "vv-" 32 hex "-" 16 hex "-ff".
const traceparentTextLen = 2 + 1 + 32 + 1 + 16 + 1 + 2

// carrier is a propagation.TextMapCarrier over a job: the traceparent and
// tracestate headers live in the job's binary trace context (26 bytes
// instead of 55 and more), any other field in its metadata.
type carrier struct {
	parent []byte // binary traceparent, nil if none
	state  string
	meta   map[string]string
	// setMeta writes a metadata entry (on enqueue); nil when reading.
	setMeta func(key, value string)
}

// readCarrier reads the trace context and metadata of a stored job.
func readCarrier(traceContext []byte, meta map[string]string) *carrier {
	c := &carrier{meta: meta}
	if len(traceContext) >= traceparentLen {
		c.parent, c.state = traceContext[:traceparentLen], string(traceContext[traceparentLen:])
	}
	return c
}

// Get returns a field's value, "" if absent.
func (c *carrier) Get(key string) string {
	switch strings.ToLower(key) {
	case traceparentHeader:
		if c.parent == nil {
			return ""
		}
		return formatTraceparent(c.parent)
	case tracestateHeader:
		if c.parent == nil {
			return ""
		}
		return c.state
	}
	return c.meta[key]
}

// Set stores a field. A traceparent that is not in the W3C text form is
// dropped: the job then carries no trace context rather than a wrong one.
func (c *carrier) Set(key, value string) {
	switch strings.ToLower(key) {
	case traceparentHeader:
		c.parent = parseTraceparent(value)
	case tracestateHeader:
		c.state = value
	default:
		if c.setMeta != nil {
			c.setMeta(key, value)
		}
	}
}

// Keys lists the fields present.
func (c *carrier) Keys() []string {
	var keys []string
	if c.parent != nil {
		keys = append(keys, traceparentHeader)
		if c.state != "" {
			keys = append(keys, tracestateHeader)
		}
	}
	for k := range c.meta {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// traceContext returns the binary trace context to store, nil if none.
func (c *carrier) traceContext() []byte {
	if c.parent == nil {
		return nil
	}
	return append(append(make([]byte, 0, len(c.parent)+len(c.state)), c.parent...), c.state...)
}

// parseTraceparent converts the header's text form to binary, nil if it is
// not well formed.
func parseTraceparent(s string) []byte {
	if len(s) != traceparentTextLen || s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return nil
	}
	b := make([]byte, 0, traceparentLen)
	for _, part := range []string{s[0:2], s[3:35], s[36:52], s[53:55]} {
		var err error
		if b, err = hex.AppendDecode(b, []byte(part)); err != nil {
			return nil
		}
	}
	return b
}

// formatTraceparent converts a binary traceparent to the header's text form.
func formatTraceparent(b []byte) string {
	var sb strings.Builder
	sb.Grow(traceparentTextLen)
	sb.WriteString(hex.EncodeToString(b[0:1]))
	sb.WriteByte('-')
	sb.WriteString(hex.EncodeToString(b[1:17]))
	sb.WriteByte('-')
	sb.WriteString(hex.EncodeToString(b[17:25]))
	sb.WriteByte('-')
	sb.WriteString(hex.EncodeToString(b[25:26]))
	return sb.String()
}
