package joblot

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/joblot/joblot/backend"
)

// UniqueOpts make a job unique in its queue (EnqueueOpts.Unique): while a
// job with the same unique key is queued, scheduled, running, retrying or
// snoozed in that queue, Enqueue stores nothing and returns the ID of that
// job with SkippedAsDuplicate set. The check is atomic with the enqueue and
// costs no extra round trip. The lock ends when its job leaves the store:
// it succeeds, dies (retries exhausted, killed, poison pill), is
// discarded or cancelled, or is deleted or cleared by an operator. A job
// put back in its queue after its process crashed keeps it. A job retried
// by hand from the dead set runs without it (it was released when the job
// died).
//
// The key is the job's kind, plus its args (ByArgs) or some of them
// (ArgsFields) or a key of your own (Key), plus, with a Period, the time
// window of the enqueue. The zero value means one job of the kind per
// queue at a time. Unlike River, a lock never outlives its job (River's
// ByState with completed/discarded states) and the queue is always part
// of the scope (River's ByQueue). Unique jobs cannot be added to a batch
// (ErrUniqueInBatch).
type UniqueOpts struct {
	// ByArgs adds the job's encoded args to the key: two jobs of the kind
	// are duplicates if their args encode to the same JSON.
	ByArgs bool
	// ArgsFields adds only these top-level fields of the args' JSON
	// encoding (their JSON names) to the key, in any order; it implies
	// ByArgs. A field the args do not have counts as null. The args must
	// encode to a JSON object.
	ArgsFields []string
	// Period makes the job unique within consecutive windows of this
	// length (aligned on the Unix epoch, on ClientConfig.Now's clock): the
	// key includes the window's start, so a job enqueued in the next
	// window is accepted, and the lock also expires at the window's end.
	// Zero: unique for as long as the job is in the store. At least a
	// millisecond.
	Period time.Duration
	// Key adds a key of your own (with the kind) instead of args: jobs of
	// the kind with the same Key are duplicates. Not with ByArgs or
	// ArgsFields. It is hashed, never stored.
	Key string
}

// uniqueKeyBytes is how much of the SHA-256 of a unique key's parts the job
// stores: 96 bits (16 base64 characters) make a collision among a billion
// locks of one queue a one in 10^11 chance; the key is stored twice (in
// the job and as its lock's name), so it is kept short.
const uniqueKeyBytes = 12

// uniqueLock returns the lock key and expiry of a kind's job with args raw
// enqueued at now under u.
func uniqueLock(kind string, raw []byte, u *UniqueOpts, now time.Time) (string, time.Time, error) {
	byArgs := u.ByArgs || len(u.ArgsFields) > 0
	if u.Key != "" && byArgs {
		return "", time.Time{}, fmt.Errorf("joblot: unique %s job: Key and ByArgs/ArgsFields exclude each other", kind)
	}
	if u.Period < 0 || u.Period > 0 && u.Period < time.Millisecond {
		return "", time.Time{}, fmt.Errorf("joblot: unique %s job: Period %v: zero or at least 1ms", kind, u.Period)
	}
	h := sha256.New()
	part := func(tag byte, b []byte) {
		var n [binary.MaxVarintLen64 + 1]byte
		n[0] = tag
		h.Write(binary.AppendUvarint(n[:1], uint64(len(b))))
		h.Write(b)
	}
	part('v', []byte{1}) // the key's format
	part('k', []byte(kind))
	switch {
	case u.Key != "":
		part('c', []byte(u.Key))
	case len(u.ArgsFields) > 0:
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(raw, &fields); err != nil {
			return "", time.Time{}, fmt.Errorf("joblot: unique %s job: ArgsFields need args that encode to a JSON object: %w", kind, err)
		}
		names := slices.Clone(u.ArgsFields)
		slices.Sort(names)
		for _, name := range slices.Compact(names) {
			v, ok := fields[name]
			if !ok {
				v = json.RawMessage("null")
			}
			var c bytes.Buffer
			if err := json.Compact(&c, v); err != nil {
				return "", time.Time{}, fmt.Errorf("joblot: unique %s job: field %q: %w", kind, name, err)
			}
			part('f', []byte(name))
			part('=', c.Bytes())
		}
	case byArgs:
		part('a', raw)
	}
	var until time.Time
	if u.Period > 0 {
		p := u.Period.Milliseconds()
		start := now.UnixMilli() / p * p
		if now.UnixMilli() < 0 && now.UnixMilli()%p != 0 {
			start -= p
		}
		part('w', binary.AppendVarint(nil, start))
		until = time.UnixMilli(start + p)
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:uniqueKeyBytes]), until, nil
}

// setUnique gives job its unique lock when opts ask for one.
func setUnique(job *backend.Job, u *UniqueOpts, now time.Time) error {
	if u == nil {
		return nil
	}
	key, until, err := uniqueLock(job.Kind, job.Args, u, now)
	if err != nil {
		return err
	}
	job.SetUnique(key, until)
	return nil
}

// uniqueOf returns the unique options p's job gets: its own, else its
// args' (JobArgsWithOpts).
func uniqueOf(p EnqueueParams) *UniqueOpts {
	if p.Opts.Unique != nil {
		return p.Opts.Unique
	}
	if wo, ok := p.Args.(JobArgsWithOpts); ok {
		return wo.EnqueueOpts().Unique
	}
	return nil
}
