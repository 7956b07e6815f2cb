package backend

import (
	"encoding/base32"
	"encoding/binary"
	"math/rand/v2"
	"time"
)

var idEncoding = base32.HexEncoding.WithPadding(base32.NoPadding)

// NewJobID returns a random job ID of 20 characters whose first part is the
// creation time in milliseconds, so IDs sort roughly by creation and carry
// 48 random bits, enough that two jobs created in the same millisecond do not
// collide in practice.
func NewJobID() string {
	var raw [16]byte
	binary.BigEndian.PutUint64(raw[0:8], uint64(time.Now().UnixMilli())<<16) // 48-bit time in bytes 0..5
	binary.BigEndian.PutUint64(raw[6:14], rand.Uint64())                     // 48 random bits in bytes 6..11
	return idEncoding.EncodeToString(raw[:12])
}

// DerivedJobID returns the deterministic ID of the seq-th job added by the job
// parent. A re-run of parent that adds the same jobs in the same order gets
// the same IDs, which is what makes adds from inside a job idempotent.
func DerivedJobID(parent string, seq int) string {
	return parent + "." + itoa(seq)
}

// CallbackJobID returns the deterministic ID of a batch's callback job, so a
// callback is enqueued exactly once however many forwarders race.
func CallbackJobID(batchID string, event CallbackEvent) string {
	return batchID + "." + string(event)
}

func itoa(n int) string {
	var buf [20]byte
	i := len(buf)
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	for n > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	if neg {
		i--
		buf[i] = '-'
	}
	return string(buf[i:])
}
