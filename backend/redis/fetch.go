package redis

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/backend"
)

// fetchChunk bounds the jobs one fetch.lua call claims (Lua's unpack limit).
const fetchChunk = 1000

// Fetch implements backend.Backend (see fetch).
func (b *Backend) Fetch(ctx context.Context, p backend.FetchParams) (backend.FetchResult, error) {
	jobs, err := b.fetch(ctx, p.Proc, p.Queues, p.Max)
	return backend.FetchResult{Jobs: jobs}, err
}

// fetch claims up to max jobs for proc with one fetch.lua call per queue
// tried, in the given order, stopping once max jobs are claimed.
func (b *Backend) fetch(ctx context.Context, proc string, queues []string, max int) ([]*backend.Fetched, error) {
	if max <= 0 || len(queues) == 0 {
		return nil, nil
	}
	if err := b.registerQueues(ctx, queues); err != nil {
		return nil, err
	}
	var out []*backend.Fetched
	for _, q := range queues {
		for {
			want := min(max-len(out), fetchChunk)
			if want <= 0 {
				return out, nil
			}
			res := b.run(ctx, b.c, b.fetchCall(q, proc, want, false))
			got, n, err := b.claimed(ctx, proc, q, want, res)
			if err != nil {
				return append(out, got...), err
			}
			switch {
			case len(got) == 0:
			case out == nil:
				out = got // the first queue with jobs: no copy
			default:
				out = append(out, got...)
			}
			if n < want {
				break // this queue is empty (or paused): try the next
			}
		}
	}
	return out, nil
}

// registerQueues adds the queues this process has not yet seen to the
// queue index, so that tools list a queue once a process serves it.
func (b *Backend) registerQueues(ctx context.Context, queues []string) error {
	if fresh := b.newQueues(queues); len(fresh) > 0 {
		if err := b.c.Do(ctx, b.c.B().Sadd().Key(b.keys.Queues()).Member(fresh...).Build()).Error(); err != nil && !isOOM(err) {
			b.forgetQueues(fresh)
			return wrap("fetch: register queues", err)
		}
	}
	return nil
}

// fetchCall is the fetch.lua call claiming up to want jobs of queue q for
// proc; behind is set when it is sent behind a blocking wait.
func (b *Backend) fetchCall(q, proc string, want int, behind bool) call {
	args := []string{itoa(want), ms(b.now())}
	if behind {
		args = append(args, "wait")
	}
	return call{s: b.s.fetch, keys: b.qkeys.queue(q).forProc(proc).fetch, args: args}
}

// errFetchNeedsClock is claimed's error for fetch.lua's -2: sent behind a
// wait, it found the queue limited and claimed nothing.
var errFetchNeedsClock = errors.New("limited queue: fetch with the clock")

// claimed decodes fetch.lua's reply res to a call that asked for want jobs
// of queue q: the jobs claimed (the cancelled ones acknowledged and left
// out), and n, how many count as popped (want when the queue is limited:
// jobs moved aside, it may hold more).
func (b *Backend) claimed(ctx context.Context, proc, q string, want int, res rueidis.RedisResult) ([]*backend.Fetched, int, error) {
	arr, err := res.ToArray()
	if err != nil {
		return nil, 0, wrap("fetch "+q, err)
	}
	got := make([]*backend.Fetched, 0, len(arr))
	var cancelled []int
	limited, slots := false, false
	for _, m := range arr {
		if m.IsInt64() {
			i, _ := m.AsInt64()
			if i == -2 {
				return nil, 0, errFetchNeedsClock
			}
			if i <= 0 { // the queue has a global limit; 0: with slots
				limited, slots = true, i == 0
				continue
			}
			cancelled = append(cancelled, int(i)-1)
			continue
		}
		raw, err := m.ToString()
		if err != nil {
			return got, 0, wrap("fetch "+q, err)
		}
		got = append(got, backend.DecodeFetchedString(q, raw))
	}
	n := len(got)
	if limited {
		n = want // jobs moved aside: the queue may hold more
		for _, f := range got {
			f.Limited = slots
		}
	}
	if len(cancelled) > 0 {
		if got, err = b.dropCancelled(ctx, proc, got, cancelled); err != nil {
			return got, n, err
		}
	}
	return got, n, nil
}

// wipField is the in-flight hash field of a payload: the job id read from
// the payload's prefix (codec version 1, key 3, a one-byte length below 128,
// the id) or backend.MalformedJobID. It mirrors lua/wipfield.lua exactly, so
// that an ack deletes the field the fetch wrote whatever the payload holds.
func wipField(p []byte) string {
	if len(p) >= 4 && p[0] == 1 && p[1] == 3 {
		if n := int(p[2]); n > 0 && n < 128 && len(p) >= 3+n {
			return string(p[3 : 3+n])
		}
	}
	sum := sha1.Sum(p)
	return "malformed-" + hex.EncodeToString(sum[:10])
}

// wipFieldOf is wipField(f.Raw) without allocating in the usual case: a
// well-formed payload's field is its decoded ID, already a string, when
// the ID it starts with is the one it decoded to (a payload could repeat
// the field; the last one wins when decoding, the first for wipField).
func wipFieldOf(f *backend.Fetched) string {
	p := f.Raw
	if f.Malformed == nil && len(p) >= 4 && p[0] == 1 && p[1] == 3 {
		if n := int(p[2]); n > 0 && n < 128 && len(p) >= 3+n && f.Job.ID == string(p[3:3+n]) {
			return f.Job.ID
		}
	}
	return wipField(p)
}
