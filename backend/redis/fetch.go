package redis

import (
	"context"
	"crypto/sha1"
	"encoding/hex"

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
	if fresh := b.newQueues(queues); len(fresh) > 0 {
		if err := b.c.Do(ctx, b.c.B().Sadd().Key(b.keys.Queues()).Member(fresh...).Build()).Error(); err != nil && !isOOM(err) {
			b.forgetQueues(fresh)
			return nil, wrap("fetch: register queues", err)
		}
	}
	var out []*backend.Fetched
	for _, q := range queues {
		for {
			want := min(max-len(out), fetchChunk)
			if want <= 0 {
				return out, nil
			}
			res := b.run(ctx, b.c, call{s: b.s.fetch, keys: []string{b.keys.QJobs(q), b.keys.QWip(q, proc), b.keys.QPaused(q), b.keys.QBell(q), b.keys.QCancel(q), b.keys.QLimit(q)}, args: []string{itoa(want), ms(b.now())}})
			arr, err := res.ToArray()
			if err != nil {
				return out, wrap("fetch "+q, err)
			}
			got := make([]*backend.Fetched, 0, len(arr))
			var cancelled []int
			limited, slots := false, false
			for _, m := range arr {
				if m.IsInt64() {
					i, _ := m.AsInt64()
					if i <= 0 { // the queue has a global limit; 0: with slots
						limited, slots = true, i == 0
						continue
					}
					cancelled = append(cancelled, int(i)-1)
					continue
				}
				raw, err := m.ToString()
				if err != nil {
					return out, wrap("fetch "+q, err)
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
					return out, err
				}
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
