package backend

import (
	"encoding/binary"
	"time"
)

// Unique returns the key of the job's unique lock, "" when the job is not
// unique, and when the lock expires (zero: only when the job leaves the
// store). While a unique job is queued, scheduled, running, retrying or
// snoozed, its queue refuses another job with the same key: Enqueue
// reports it as a duplicate of this one. Backends release the lock when
// the job leaves the store (success, death, discard, cancel, deletion,
// clearing), releasing it only while this job's ID holds it.
//
// The lock lives in the job's encoded extension fields (UnknownFields), not
// in a struct field: a decoded Job keeps its allocation size, and reading
// the key of a job that has none costs a length check.
func (j *Job) Unique() (key string, until time.Time) {
	v, ok := extField(j.UnknownFields, fieldUnique)
	if !ok {
		return "", time.Time{}
	}
	exp, n := binary.Uvarint(v)
	if n <= 0 {
		return "", time.Time{}
	}
	if exp > 0 {
		until = time.UnixMilli(int64(exp))
	}
	return string(v[n:]), until
}

// UniqueKey returns the key of the job's unique lock ("" if none).
func (j *Job) UniqueKey() string {
	k, _ := j.Unique()
	return k
}

// SetUnique sets the job's unique lock (key "" removes it); until is when
// the lock expires, zero for never.
func (j *Job) SetUnique(key string, until time.Time) {
	rest := dropExtField(j.UnknownFields, fieldUnique)
	if key == "" {
		j.UnknownFields = rest
		return
	}
	var exp uint64
	if !until.IsZero() && until.UnixMilli() > 0 {
		exp = uint64(until.UnixMilli())
	}
	v := binary.AppendUvarint(nil, exp)
	v = append(v, key...)
	j.UnknownFields = appendBytes(rest, fieldUnique, v)
}

// extField returns the value of the first bytes field number field in an
// encoded field list (UnknownFields, which UnmarshalBinary checked).
func extField(b []byte, field uint64) ([]byte, bool) {
	for len(b) > 0 {
		f, v, _, rest, ok := nextField(b)
		if !ok {
			return nil, false
		}
		if f == field {
			return v, true
		}
		b = rest
	}
	return nil, false
}

// dropExtField returns b without its fields numbered field (b itself
// when it has none).
func dropExtField(b []byte, field uint64) []byte {
	if _, ok := extField(b, field); !ok {
		if len(b) == 0 {
			return nil
		}
		return b
	}
	var out []byte
	for len(b) > 0 {
		f, _, whole, rest, ok := nextField(b)
		if !ok {
			return append(out, b...)
		}
		if f != field {
			out = append(out, whole...)
		}
		b = rest
	}
	return out
}

// nextField splits the first field off an encoded field list: its number,
// its value (bytes fields only), the whole encoded field and the rest.
func nextField(b []byte) (field uint64, val, whole, rest []byte, ok bool) {
	key, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, nil, nil, nil, false
	}
	field, wire := key>>1, key&1
	d := b[n:]
	if wire == wireVarint {
		_, m := binary.Varint(d)
		if m <= 0 {
			return 0, nil, nil, nil, false
		}
		return field, nil, b[:n+m], d[m:], true
	}
	l, m := binary.Uvarint(d)
	if m <= 0 || uint64(len(d)-m) < l {
		return 0, nil, nil, nil, false
	}
	end := n + m + int(l)
	return field, b[n+m : end], b[:end], b[end:], true
}
