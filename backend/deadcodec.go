package backend

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"time"
)

// The dead-entry form of a job is what the Redis dead set (one sorted set
// per queue, scored by death time) stores from data model 4 on. A
// skiplist-encoded member costs some 100 bytes of Redis memory on top of its
// own bytes, so the member keeps only what is the job's own and leaves out
// what the set already says or what many dead jobs share:
//
//   - the queue (the key names it) and the death time (the score: the
//     member holds it only when it differs);
//   - the failure and creation times as offsets from the death time;
//   - a generated job ID (NewJobID) as its 12 bytes rather than 20
//     characters;
//   - the failure's group (kind, error class, fingerprint and backtrace),
//     which repeats across the jobs that failed the same way, as an 8-byte
//     reference to one copy of it that the store keeps per queue, with a
//     count of the entries that refer to it and the message of the first
//     of them; an entry whose message is that one leaves its message out.
//
// Layout: byte 2 (deadCodecRef), the 8-byte reference, the ID (a uvarint
// len<<1, then the ID; or 1, then the 12 bytes of a generated ID), a flags
// byte, the varints the flags announce (death time, failure time, creation
// offset), then the job's other fields in the job codec's form (see
// jobcodec.go: field keys, omitted zero values, unknown fields kept), its
// message among them if the deadOwnMessage flag says so. Byte 3
// (deadCodecInline) is the same without the reference, with its own
// message and the group's fields appended: the store writes that form when
// two different groups would share one reference. A member that starts
// with jobCodecVersion is the whole job, as data model 3 and earlier wrote
// it.
const (
	deadCodecRef    = 2
	deadCodecInline = 3
)

// DeadRefLen is the length of the reference of a dead entry's shared
// group (DeadDetailsRef).
const DeadRefLen = 8

// Flags of a dead entry.
const (
	deadDiedExplicit   = 1 << iota // the death time is not the score (a varint of unix ms, 0 for none)
	deadFailedExplicit             // the failure time is not the death time (a varint of unix ms, 0 for none)
	deadCreatedOffset              // the creation time is a varint of ms before the death time
	deadOwnMessage                 // the entry holds its message (else the message is the group's)
)

// deadGroupVersion starts a group's bytes (so that they are never empty).
const deadGroupVersion = 1

// DeadEntry is the stored form of a dead job (EncodeDead).
type DeadEntry struct {
	// Shared is the entry that takes its message from its group (the
	// message kept with the group is the job's).
	Shared []byte
	// Own is the entry that holds its message itself.
	Own []byte
	// Group is what the jobs that failed the same way share: kind, error
	// class, fingerprint and backtrace. The entries refer to it by
	// DeadDetailsRef.
	Group []byte
	// Message is the job's error message in the form the group keeps
	// (empty for none).
	Message []byte
}

// EncodeDead returns the stored forms of j, a job that died and is stored
// with score died (unix ms). The store keeps one Group per reference, with
// the Message of the first entry that refers to it, and writes Shared for
// a job with that message, Own for another.
func EncodeDead(j *Job, died int64) DeadEntry {
	var flags byte
	var times [3 * binary.MaxVarintLen64]byte
	nt := 0
	diedAt := died
	if ms := unixMs(j.DiedAt); ms != died {
		flags |= deadDiedExplicit
		nt += binary.PutVarint(times[nt:], ms)
		diedAt = ms
	}
	if ms := unixMs(j.FailedAt); ms != diedAt {
		flags |= deadFailedExplicit
		nt += binary.PutVarint(times[nt:], ms)
	}
	r := *j
	r.ID, r.Queue = "", ""
	r.Kind, r.ErrorClass, r.ErrorMessage, r.ErrorFingerprint, r.Backtrace = "", "", "", "", nil
	r.DiedAt, r.FailedAt = time.Time{}, time.Time{}
	if !j.CreatedAt.IsZero() && diedAt != 0 {
		flags |= deadCreatedOffset
		nt += binary.PutVarint(times[nt:], diedAt-j.CreatedAt.UnixMilli())
		r.CreatedAt = time.Time{}
	}
	g := Job{Kind: j.Kind, ErrorClass: j.ErrorClass, ErrorFingerprint: j.ErrorFingerprint, Backtrace: j.Backtrace}

	// One buffer holds the four parts: the group, the shared entry, the
	// own entry (the shared one's bytes, its flag, and the message), and
	// the message. r has no ID: its form is the version byte, then the
	// fields.
	rest := r.AppendBinary(make([]byte, 0, 48+len(j.Args)+len(j.UnknownFields)+MetaSize(j.Meta)+len(j.TraceContext)))[1:]
	groupLen := 16 + len(j.Kind) + len(j.ErrorClass) + len(j.ErrorFingerprint) + len(j.Backtrace)
	msgLen := 1 + binary.MaxVarintLen64 + len(j.ErrorMessage)
	entryLen := 1 + DeadRefLen + 1 + binary.MaxVarintLen64 + len(j.ID) + 1 + nt + len(rest)
	buf := make([]byte, 0, groupLen+2*entryLen+2*msgLen)
	buf = g.AppendBinary(buf)
	buf[0] = deadGroupVersion // AppendBinary's version byte: g has no ID
	group := buf[:len(buf):len(buf)]
	ref := sha256.Sum256(group)
	start := len(buf)
	buf = append(buf, deadCodecRef)
	buf = append(buf, ref[:DeadRefLen]...)
	buf = appendDeadID(buf, j.ID)
	at := len(buf) - start // the flags byte
	buf = append(buf, flags)
	buf = append(buf, times[:nt]...)
	buf = append(buf, rest...)
	shared := buf[start:len(buf):len(buf)]
	start = len(buf)
	buf = append(buf, shared...)
	buf[start+at] |= deadOwnMessage
	buf = appendString(buf, fieldErrorMessage, j.ErrorMessage)
	own := buf[start:len(buf):len(buf)]
	msg := own[len(shared):]
	return DeadEntry{Shared: shared, Own: own, Group: group, Message: msg}
}

// unixMs is t in unix ms, 0 for the zero time (as the job codec stores it).
func unixMs(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// appendDeadID appends id: a generated one (NewJobID) as its 12 bytes.
func appendDeadID(b []byte, id string) []byte {
	if len(id) == 20 {
		var raw [12]byte
		if n, err := idEncoding.Decode(raw[:], []byte(id)); err == nil && n == 12 && idEncoding.EncodeToString(raw[:]) == id {
			return append(append(b, 1), raw[:]...)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(id))<<1)
	return append(b, id...)
}

// readDeadID reads what appendDeadID wrote at the start of b and returns
// the ID and its length in b.
func readDeadID(b []byte) (string, int, error) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return "", 0, fmt.Errorf("%w: bad dead entry id", ErrMalformedJob)
	}
	if v == 1 {
		if len(b) < n+12 {
			return "", 0, fmt.Errorf("%w: short dead entry id", ErrMalformedJob)
		}
		return idEncoding.EncodeToString(b[n : n+12]), n + 12, nil
	}
	l := v >> 1
	if v&1 != 0 || l == 0 || uint64(len(b)-n) < l {
		return "", 0, fmt.Errorf("%w: bad dead entry id", ErrMalformedJob)
	}
	return string(b[n : n+int(l)]), n + int(l), nil
}

// deadBody returns the part of a dead entry after its codec byte and
// reference, and whether it is one (else it is a job payload of data
// model 3 or earlier, or not a job).
func deadBody(entry []byte) ([]byte, bool) {
	switch {
	case len(entry) > DeadRefLen && entry[0] == deadCodecRef:
		return entry[1+DeadRefLen:], true
	case len(entry) > 1 && entry[0] == deadCodecInline:
		return entry[1:], true
	}
	return nil, false
}

// DeadDetailsRef returns the reference of the shared group a dead entry
// refers to, or "" for one that holds its details itself (an inline entry,
// or a whole job as data model 3 and earlier stored it).
func DeadDetailsRef(entry []byte) string {
	if len(entry) > DeadRefLen && entry[0] == deadCodecRef {
		return string(entry[1 : 1+DeadRefLen])
	}
	return ""
}

// DeadEntryPrefix returns the start of a dead entry up to the end of its
// job ID: what every entry of that job starts with and no other job's
// does. ok is false for an entry that is not in the dead-entry form.
func DeadEntryPrefix(entry []byte) (prefix []byte, ok bool) {
	body, ok := deadBody(entry)
	if !ok {
		return nil, false
	}
	_, n, err := readDeadID(body)
	if err != nil {
		return nil, false
	}
	return entry[:len(entry)-len(body)+n], true
}

// DeadEntryID returns the job ID of a dead entry of any data model
// without decoding the rest (MalformedJobID for one that is not a job).
func DeadEntryID(entry []byte) string {
	if body, ok := deadBody(entry); ok {
		if id, _, err := readDeadID(body); err == nil {
			return id
		}
		return MalformedJobID(entry)
	}
	if j, err := DecodeJob(entry); err == nil {
		return j.ID
	}
	return MalformedJobID(entry)
}

// DecodeDead decodes a dead entry of queue read with its score (the death
// time, unix ms), and the group and message the store keeps under its
// reference (DeadDetailsRef; nil for an entry that has none). A whole job,
// as data model 3 and earlier stored it, decodes as it was written. It
// returns an error wrapping ErrMalformedJob for an entry that is not a job.
func DecodeDead(entry, group, message []byte, queue string, score int64) (*Job, error) {
	body, ok := deadBody(entry)
	if !ok {
		return DecodeJob(entry)
	}
	id, n, err := readDeadID(body)
	if err != nil {
		return nil, err
	}
	body = body[n:]
	if len(body) == 0 {
		return nil, fmt.Errorf("%w: short dead entry", ErrMalformedJob)
	}
	flags := body[0]
	body = body[1:]
	next := func() (int64, error) {
		v, n := binary.Varint(body)
		if n <= 0 {
			return 0, fmt.Errorf("%w: bad dead entry time", ErrMalformedJob)
		}
		body = body[n:]
		return v, nil
	}
	died, failed := score, int64(0)
	var created int64
	if flags&deadDiedExplicit != 0 {
		if died, err = next(); err != nil {
			return nil, err
		}
	}
	failed = died
	if flags&deadFailedExplicit != 0 {
		if failed, err = next(); err != nil {
			return nil, err
		}
	}
	if flags&deadCreatedOffset != 0 {
		if created, err = next(); err != nil {
			return nil, err
		}
	}
	// The group's fields, the message and the entry's own fields are
	// disjoint: one job codec buffer holds them all.
	buf := make([]byte, 0, 3+len(id)+len(body)+len(group)+len(message))
	buf = append(buf, jobCodecVersion)
	buf = appendString(buf, fieldID, id)
	if entry[0] == deadCodecRef {
		if len(group) > 0 {
			if group[0] != deadGroupVersion {
				return nil, fmt.Errorf("%w: unknown dead group version", ErrMalformedJob)
			}
			buf = append(buf, group[1:]...)
		}
		if flags&deadOwnMessage == 0 {
			buf = append(buf, message...)
		}
	}
	buf = append(buf, body...)
	j, err := DecodeJob(buf)
	if err != nil {
		return nil, err
	}
	j.Queue = queue
	j.DiedAt, j.FailedAt = unixMilli(died), unixMilli(failed)
	if flags&deadCreatedOffset != 0 {
		j.CreatedAt = time.UnixMilli(died - created)
	}
	return j, nil
}
