package backend

import (
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"
	"unsafe"
)

// The binary form of a Job is what both backends store. It is compact (a
// queued no-op job is a few dozen bytes, which is most of what it costs in
// Redis) and forward compatible: every field is a protobuf-style key (field
// number << 1 | wire type) followed by a varint or a length-prefixed byte
// string; zero values are omitted. Unknown fields are kept byte for byte in
// Job.UnknownFields and written back after the known ones, so a newer
// writer's jobs stay readable by an older reader and survive its re-encoding.
// The ID is always the first field: the Redis scripts read it from the
// payload's prefix.
//
// The first byte is the codec version.

const jobCodecVersion = 1

// ErrMalformedJob is returned by UnmarshalBinary for bytes that are not a
// job. The server sends such payloads to the dead set with the reason.
var ErrMalformedJob = errors.New("joblot: malformed job payload")

const (
	wireVarint = 0
	wireBytes  = 1
)

// Field numbers. Never reuse or renumber one: stored jobs outlive releases.
const (
	fieldID               = 1
	fieldKind             = 2
	fieldQueue            = 3
	fieldArgs             = 4
	fieldAttempt          = 5
	fieldMaxRetries       = 6
	fieldTimeout          = 7
	fieldCreatedAt        = 8
	fieldRunAt            = 9
	fieldBatchID          = 10
	fieldBatchIndex       = 11
	fieldCallbackOf       = 12
	fieldCallbackEvent    = 13
	fieldErrorClass       = 14
	fieldErrorMessage     = 15
	fieldErrorFingerprint = 16
	fieldBacktrace        = 17
	fieldFailedAt         = 18
	fieldDiedAt           = 19
	fieldRecoveries       = 20
	fieldManualRetry      = 21
	// fieldHasBatchIndex distinguishes index 0 from "no index".
	fieldHasBatchIndex = 22
	// fieldMeta holds the metadata map as one byte string (see appendMeta).
	fieldMeta         = 23
	fieldTraceContext = 24
	fieldSnoozes      = 25
	// fieldUnique is the unique lock: a uvarint expiry (unix ms, 0 for
	// none) then the lock's key. It is not decoded into a Job field but
	// kept with UnknownFields (see Job.Unique).
	fieldUnique = 26
	// fieldLimitKey is the limit key (Job.LimitKey): the group the job
	// counts in under a LimitByKey queue limit. Like fieldUnique it stays
	// in UnknownFields. (31, not the next free number, to keep clear of
	// fields other work in progress adds.)
	fieldLimitKey = 31
)

// MarshalBinary encodes the job. It never fails.
func (j *Job) MarshalBinary() ([]byte, error) {
	return j.AppendBinary(make([]byte, 0, j.BinarySize())), nil
}

// AppendBinary appends the job's binary form to b.
func (j *Job) AppendBinary(b []byte) []byte {
	b = append(b, jobCodecVersion)
	b = appendString(b, fieldID, j.ID)
	b = appendString(b, fieldKind, j.Kind)
	b = appendString(b, fieldQueue, j.Queue)
	b = appendBytes(b, fieldArgs, j.Args)
	b = appendInt(b, fieldAttempt, int64(j.Attempt))
	b = appendInt(b, fieldMaxRetries, int64(j.MaxRetries))
	b = appendInt(b, fieldTimeout, int64(j.Timeout/time.Millisecond))
	b = appendTime(b, fieldCreatedAt, j.CreatedAt)
	b = appendTime(b, fieldRunAt, j.RunAt)
	b = appendString(b, fieldBatchID, j.BatchID)
	if j.BatchID != "" {
		b = appendInt(b, fieldHasBatchIndex, 1)
		b = appendInt(b, fieldBatchIndex, j.BatchIndex)
	}
	b = appendString(b, fieldCallbackOf, j.CallbackOf)
	b = appendString(b, fieldCallbackEvent, string(j.CallbackEvent))
	b = appendString(b, fieldErrorClass, j.ErrorClass)
	b = appendString(b, fieldErrorMessage, j.ErrorMessage)
	b = appendString(b, fieldErrorFingerprint, j.ErrorFingerprint)
	b = appendBytes(b, fieldBacktrace, j.Backtrace)
	b = appendTime(b, fieldFailedAt, j.FailedAt)
	b = appendTime(b, fieldDiedAt, j.DiedAt)
	b = appendInt(b, fieldRecoveries, int64(j.Recoveries))
	if j.ManualRetry {
		b = appendInt(b, fieldManualRetry, 1)
	}
	if len(j.Meta) > 0 || j.TraceContext != "" || j.Snoozes != 0 { // one branch when unused
		if len(j.Meta) > 0 {
			b = appendMeta(b, j.Meta)
		}
		b = appendString(b, fieldTraceContext, string(j.TraceContext))
		b = appendInt(b, fieldSnoozes, int64(j.Snoozes))
	}
	return append(b, j.UnknownFields...)
}

// BinarySize is len(j.AppendBinary(nil)) without encoding: the client
// checks every job's stored size against its limit.
func (j *Job) BinarySize() int {
	n := 1 + sizeBytes(fieldID, len(j.ID)) + sizeBytes(fieldKind, len(j.Kind)) + sizeBytes(fieldQueue, len(j.Queue)) +
		sizeBytes(fieldArgs, len(j.Args)) + sizeInt(fieldAttempt, int64(j.Attempt)) +
		sizeInt(fieldMaxRetries, int64(j.MaxRetries)) + sizeInt(fieldTimeout, int64(j.Timeout/time.Millisecond)) +
		sizeTime(fieldCreatedAt, j.CreatedAt) + sizeTime(fieldRunAt, j.RunAt) + sizeBytes(fieldBatchID, len(j.BatchID))
	if j.BatchID != "" {
		n += sizeInt(fieldHasBatchIndex, 1) + sizeInt(fieldBatchIndex, j.BatchIndex)
	}
	n += sizeBytes(fieldCallbackOf, len(j.CallbackOf)) + sizeBytes(fieldCallbackEvent, len(j.CallbackEvent)) +
		sizeBytes(fieldErrorClass, len(j.ErrorClass)) + sizeBytes(fieldErrorMessage, len(j.ErrorMessage)) +
		sizeBytes(fieldErrorFingerprint, len(j.ErrorFingerprint)) + sizeBytes(fieldBacktrace, len(j.Backtrace)) +
		sizeTime(fieldFailedAt, j.FailedAt) + sizeTime(fieldDiedAt, j.DiedAt) + sizeInt(fieldRecoveries, int64(j.Recoveries))
	if j.ManualRetry {
		n += sizeInt(fieldManualRetry, 1)
	}
	if len(j.Meta) > 0 {
		m := MetaSize(j.Meta)
		n += uvarintLen(fieldMeta<<1|wireBytes) + uvarintLen(m) + m
	}
	n += sizeBytes(fieldTraceContext, len(j.TraceContext)) + sizeInt(fieldSnoozes, int64(j.Snoozes))
	return n + len(j.UnknownFields)
}

// UnmarshalBinary decodes a job written by MarshalBinary. It returns an error
// wrapping ErrMalformedJob when data is not a job.
func (j *Job) UnmarshalBinary(data []byte) error {
	return j.decode(data, false, "")
}

// sharedDecodeMax bounds the payloads whose string fields DecodeFetched
// cuts from one copy of the payload: a string kept after the job (an ID in
// a log or a map) pins that whole copy, so only small payloads share one.
const sharedDecodeMax = 512

// decode is UnmarshalBinary. With alias set (data is owned by the decoded
// job and never written to, as a fetched payload is), Args, Backtrace and
// UnknownFields are slices of data, capped so that an append copies, and
// the string fields of a payload of at most sharedDecodeMax bytes are cut
// from one string copy of it: two allocations at most instead of one per
// field. src, if not empty, is data as a string (the same memory), which
// they are cut from instead of a copy.
func (j *Job) decode(data []byte, alias bool, src string) error {
	*j = Job{}
	if len(data) == 0 || data[0] != jobCodecVersion {
		return fmt.Errorf("%w: unknown codec version", ErrMalformedJob)
	}
	orig, shared := data, ""
	str := func(b []byte) string {
		if shared == "" {
			return string(b)
		}
		off := cap(orig) - cap(b) // b is a slice of orig
		return shared[off : off+len(b)]
	}
	bytesOf := func(b []byte) []byte {
		if len(b) == 0 {
			return nil
		}
		if alias {
			return b[:len(b):len(b)]
		}
		return append([]byte(nil), b...)
	}
	if alias && len(data) <= sharedDecodeMax {
		shared = src
		if shared == "" {
			shared = string(data)
		}
	}
	data = data[1:]
	for len(data) > 0 {
		key, n := binary.Uvarint(data)
		if n <= 0 {
			return fmt.Errorf("%w: bad field key", ErrMalformedJob)
		}
		start := data
		data = data[n:]
		field, wire := key>>1, key&1
		if want, known := fieldWire(field); known && wire != want {
			// A field never changes its wire type (field numbers are never
			// reused), so a mismatch is corruption, not a newer writer.
			return fmt.Errorf("%w: field %d has the wrong wire type", ErrMalformedJob, field)
		}
		var (
			ival int64
			bval []byte
		)
		switch wire {
		case wireVarint:
			v, n := binary.Varint(data)
			if n <= 0 {
				return fmt.Errorf("%w: bad varint in field %d", ErrMalformedJob, field)
			}
			ival, data = v, data[n:]
		case wireBytes:
			l, n := binary.Uvarint(data)
			if n <= 0 || uint64(len(data)-n) < l {
				return fmt.Errorf("%w: bad length in field %d", ErrMalformedJob, field)
			}
			bval, data = data[n:n+int(l)], data[n+int(l):]
		}
		switch field {
		case fieldID:
			j.ID = str(bval)
		case fieldKind:
			j.Kind = str(bval)
		case fieldQueue:
			j.Queue = str(bval)
		case fieldArgs:
			j.Args = bytesOf(bval)
		case fieldAttempt:
			j.Attempt = int(ival)
		case fieldMaxRetries:
			j.MaxRetries = int(ival)
		case fieldTimeout:
			j.Timeout = time.Duration(ival) * time.Millisecond
		case fieldCreatedAt:
			j.CreatedAt = unixMilli(ival)
		case fieldRunAt:
			j.RunAt = unixMilli(ival)
		case fieldBatchID:
			j.BatchID = str(bval)
		case fieldBatchIndex:
			j.BatchIndex = ival
		case fieldCallbackOf:
			j.CallbackOf = str(bval)
		case fieldCallbackEvent:
			j.CallbackEvent = CallbackEvent(str(bval))
		case fieldErrorClass:
			j.ErrorClass = str(bval)
		case fieldErrorMessage:
			j.ErrorMessage = str(bval)
		case fieldErrorFingerprint:
			j.ErrorFingerprint = str(bval)
		case fieldBacktrace:
			j.Backtrace = bytesOf(bval)
		case fieldFailedAt:
			j.FailedAt = unixMilli(ival)
		case fieldDiedAt:
			j.DiedAt = unixMilli(ival)
		case fieldRecoveries:
			j.Recoveries = int(ival)
		case fieldManualRetry:
			j.ManualRetry = ival != 0
		case fieldMeta:
			m, err := decodeMeta(bval)
			if err != nil {
				return err
			}
			j.Meta = m
		case fieldTraceContext:
			j.TraceContext = TraceContext(str(bval))
		case fieldSnoozes:
			j.Snoozes = int32(ival)
		case fieldHasBatchIndex:
		default:
			j.UnknownFields = append(j.UnknownFields, start[:len(start)-len(data)]...)
		}
	}
	if j.ID == "" {
		return fmt.Errorf("%w: no job id", ErrMalformedJob)
	}
	return nil
}

// unixMilli reads a stored time. 0 is the zero time, as the encoder
// writes it (by omitting the field), so that every decoded job re-encodes
// to the bytes it was read from.
func unixMilli(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// fieldWire returns the wire type of a known field; unknown fields (a
// newer writer's) may have either.
func fieldWire(field uint64) (wire uint64, known bool) {
	switch field {
	case fieldID, fieldKind, fieldQueue, fieldArgs, fieldBatchID, fieldCallbackOf, fieldCallbackEvent,
		fieldErrorClass, fieldErrorMessage, fieldErrorFingerprint, fieldBacktrace, fieldMeta,
		fieldTraceContext, fieldUnique:
		return wireBytes, true
	case fieldAttempt, fieldMaxRetries, fieldTimeout, fieldCreatedAt, fieldRunAt, fieldBatchIndex,
		fieldFailedAt, fieldDiedAt, fieldRecoveries, fieldManualRetry, fieldHasBatchIndex, fieldSnoozes:
		return wireVarint, true
	}
	return 0, false
}

// DecodeFetched decodes a payload claimed from queue. An undecodable one
// comes back with Malformed set and the ID MalformedJobID gives it, so the
// server can send it to the dead set with the reason instead of losing it.
//
// The job shares memory with raw (see Job.decode), which the caller hands
// over and must not write to; the Fetched and its Job are one allocation.
func DecodeFetched(queue string, raw []byte) *Fetched {
	return decodeFetched(queue, raw, "")
}

// DecodeFetchedString is DecodeFetched of a payload read as a string, as
// Redis clients return them: the Fetched's Raw and the job's fields share
// the string's memory (immutable, so never written to) instead of copying
// it, which saves two allocations and copies per job.
func DecodeFetchedString(queue, raw string) *Fetched {
	return decodeFetched(queue, unsafe.Slice(unsafe.StringData(raw), len(raw)), raw)
}

// decodeFetched is DecodeFetched; src, if not empty, is raw as a string.
func decodeFetched(queue string, raw []byte, src string) *Fetched {
	fj := new(fetchedJob)
	f, j := &fj.f, &fj.j
	f.Job, f.Raw = j, raw
	if err := j.decode(raw, true, src); err != nil {
		*j = Job{ID: MalformedJobID(raw), Queue: queue}
		f.Malformed = err
		return f
	}
	j.Queue = queue
	return f
}

// fetchedJob holds a Fetched and its Job in one allocation.
type fetchedJob struct {
	f Fetched
	j Job
}

// DecodeJob is UnmarshalBinary as a function.
func DecodeJob(data []byte) (*Job, error) {
	j := new(Job)
	if err := j.UnmarshalBinary(data); err != nil {
		return nil, err
	}
	return j, nil
}

func appendKey(b []byte, field, wire uint64) []byte {
	return binary.AppendUvarint(b, field<<1|wire)
}

func appendString(b []byte, field uint64, s string) []byte {
	if s == "" {
		return b
	}
	b = appendKey(b, field, wireBytes)
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b []byte, field uint64, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	b = appendKey(b, field, wireBytes)
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

func appendInt(b []byte, field uint64, v int64) []byte {
	if v == 0 {
		return b
	}
	b = appendKey(b, field, wireVarint)
	return binary.AppendVarint(b, v)
}

func appendTime(b []byte, field uint64, t time.Time) []byte {
	if t.IsZero() {
		return b
	}
	return appendInt(b, field, t.UnixMilli())
}

// sizeBytes is the length appendString or appendBytes give a value of n
// bytes.
func sizeBytes(field uint64, n int) int {
	if n == 0 {
		return 0
	}
	return uvarintLen(int(field<<1|wireBytes)) + uvarintLen(n) + n
}

// sizeInt is the length appendInt gives v.
func sizeInt(field uint64, v int64) int {
	if v == 0 {
		return 0
	}
	ux := uint64(v) << 1 // zigzag, as binary.AppendVarint
	if v < 0 {
		ux = ^ux
	}
	l := 1
	for ; ux >= 0x80; ux >>= 7 {
		l++
	}
	return uvarintLen(int(field<<1|wireVarint)) + l
}

// sizeTime is the length appendTime gives t.
func sizeTime(field uint64, t time.Time) int {
	if t.IsZero() {
		return 0
	}
	return sizeInt(field, t.UnixMilli())
}

// MetaSize is the number of bytes m takes in a job's stored form, beyond
// the field's own key and length: each key and value with its length.
// The client caps it at enqueue.
func MetaSize(m map[string]string) int {
	n := 0
	for k, v := range m {
		n += uvarintLen(len(k)) + len(k) + uvarintLen(len(v)) + len(v)
	}
	return n
}

func uvarintLen(n int) int {
	l := 1
	for ; n >= 0x80; n >>= 7 {
		l++
	}
	return l
}

// appendMeta writes m as one byte string of length-prefixed keys and
// values, keys sorted so that a job always encodes to the same bytes.
func appendMeta(b []byte, m map[string]string) []byte {
	b = appendKey(b, fieldMeta, wireBytes)
	b = binary.AppendUvarint(b, uint64(MetaSize(m)))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		b = binary.AppendUvarint(b, uint64(len(k)))
		b = append(b, k...)
		b = binary.AppendUvarint(b, uint64(len(m[k])))
		b = append(b, m[k]...)
	}
	return b
}

// decodeMeta reads what appendMeta wrote.
func decodeMeta(data []byte) (map[string]string, error) {
	m := map[string]string{}
	for len(data) > 0 {
		var kv [2]string
		for i := range kv {
			l, n := binary.Uvarint(data)
			if n <= 0 || uint64(len(data)-n) < l {
				return nil, fmt.Errorf("%w: bad metadata", ErrMalformedJob)
			}
			kv[i], data = string(data[n:n+int(l)]), data[n+int(l):]
		}
		m[kv[0]] = kv[1]
	}
	return m, nil
}
