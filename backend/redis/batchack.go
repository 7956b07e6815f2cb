package redis

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/backend"
)

// batchJobEvent is one job's event for its batch.
type batchJobEvent struct {
	ref    int // index of the caller's item
	batch  string
	index  int64
	event  backend.BatchEvent
	manual bool
	// fail describes a failure or death for the batch's error groups;
	// nil for other events. Behind a pointer: most events are successes,
	// and one event per job of a batch is made on every ack.
	fail *batchFailure
}

// batchFailure is what batch_ack.lua counts a failed or dead job under.
type batchFailure struct {
	fingerprint, kind, class, message, jobID string
}

// batchOutcome is what applyBatchEvents learnt.
type batchOutcome struct {
	masks   []byte   // per event: bit 1 may write retry, bit 2 may write dead
	expired int64    // events for batches that are gone
	fired   []string // batches whose outbox got callbacks
}

// ttlArgs are the TTLs every batch script takes: horizon, success linger,
// dead age (ms).
func (b *Backend) ttlArgs() []string {
	return []string{itoa(backend.DefaultBatchHorizon.Milliseconds()), itoa(backend.DefaultSuccessLinger.Milliseconds()), itoa(b.limits.DeadMaxAge.Milliseconds())}
}

// applyBatchEvents runs batch_ack.lua once per batch and chunk, all in one
// pipeline.
func (b *Backend) applyBatchEvents(ctx context.Context, events []batchJobEvent, now time.Time) (batchOutcome, error) {
	out := batchOutcome{masks: make([]byte, len(events))}
	if len(events) == 0 {
		return out, nil
	}
	byBatch := map[string][]int{}
	var order []string
	for k, e := range events {
		if _, ok := byBatch[e.batch]; !ok {
			order = append(order, e.batch)
		}
		byBatch[e.batch] = append(byBatch[e.batch], k)
	}
	head := append([]string{ms(now)}, b.ttlArgs()...)
	head = append(head, itoa(backend.MaxErrorGroups))
	var calls []call
	var parts [][]int
	for _, id := range order {
		ks := byBatch[id]
		byPage(events, ks)
		for len(ks) > 0 {
			n := min(len(ks), ackChunk)
			calls = append(calls, call{s: b.s.batchAck, keys: b.keys.BatchKeys(id), args: batchAckArgs(head, events, ks[:n])})
			parts = append(parts, ks[:n])
			ks = ks[n:]
		}
	}
	fired := map[string]bool{}
	var errs []error
	for c, r := range b.runMulti(ctx, b.c, calls) {
		arr, err := r.ToArray()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		status, _ := arr[0].AsInt64()
		if status == 1 {
			out.expired += int64(len(parts[c]))
			for _, k := range parts[c] {
				out.masks[k] = 3
			}
			continue
		}
		effects, err := arr[1].ToString()
		if err != nil || len(effects) != len(parts[c]) {
			errs = append(errs, fmt.Errorf("batch_ack: bad effects %q", effects))
			continue
		}
		for i, k := range parts[c] {
			out.masks[k] = effects[i] - '0'
		}
		if len(arr) > 2 {
			id := events[parts[c][0]].batch
			if !fired[id] {
				fired[id] = true
				out.fired = append(out.fired, id)
			}
		}
	}
	if len(errs) > 0 {
		return out, wrap("batch transition", errors.Join(errs...))
	}
	return out, nil
}

// outOfBatchSlot is the slot batch_ack.lua reads as "not a job of the
// batch" (an event with a negative index). Slots are sent as two bytes,
// so every page slot lies below it.
const outOfBatchSlot = 0xFFFF

var _ [outOfBatchSlot - backend.BatchPageSize]struct{} // BatchPageSize < outOfBatchSlot

// batchAckArgs lays out batch_ack.lua's arguments for the events ks,
// which come sorted by page (backend.BatchPageOf): a few strings per
// call whatever its size (codes, page runs, two bytes of slot per job),
// plus the details of each failure, so that neither side converts
// strings per job. A page run says its page, its number of jobs and the
// lowest and highest of their slots, which lets the script read the
// bytes a run's jobs fall in before it looks at the jobs.
func batchAckArgs(head []string, events []batchJobEvent, ks []int) []string {
	codes := make([]byte, len(ks))
	slots := make([]byte, 2*len(ks))
	var runs []byte
	var failures []string
	run, page := 0, int64(-1)
	lo, hi := int64(outOfBatchSlot), int64(0)
	flush := func() {
		if run > 0 {
			if len(runs) > 0 {
				runs = append(runs, ',')
			}
			runs = strconv.AppendInt(runs, page, 10)
			runs = append(runs, ':')
			runs = strconv.AppendInt(runs, int64(run), 10)
			runs = append(runs, ':')
			runs = strconv.AppendInt(runs, lo, 10)
			runs = append(runs, ':')
			runs = strconv.AppendInt(runs, hi, 10)
		}
		lo, hi = outOfBatchSlot, 0
	}
	for i, k := range ks {
		e := &events[k]
		code := 2 * byte(e.event)
		if e.manual {
			code++
		}
		codes[i] = '0' + code
		p, slot := backend.BatchPageOf(max(e.index, 0))
		if p != page {
			flush()
			run, page = 0, p
		}
		run++
		if e.index < 0 {
			slot = outOfBatchSlot
		}
		lo, hi = min(lo, slot), max(hi, slot)
		slots[2*i], slots[2*i+1] = byte(slot>>8), byte(slot)
		if e.event == backend.EventFailed || e.event == backend.EventDied {
			f := e.fail
			if f == nil {
				f = &batchFailure{}
			}
			failures = append(failures, f.fingerprint, f.kind, f.class, f.message, f.jobID)
		}
	}
	flush()
	args := make([]string, 0, len(head)+5+len(failures))
	args = append(args, head...)
	args = append(args, itoa(int64(len(ks))), string(codes), itoa(backend.BatchPageSize), string(runs), string(slots))
	return append(args, failures...)
}

// byPage sorts the events ks of one batch by page, keeping their order
// within a page (a job's events stay in order).
func byPage(events []batchJobEvent, ks []int) {
	slices.SortStableFunc(ks, func(a, b int) int {
		pa, _ := backend.BatchPageOf(max(events[a].index, 0))
		pb, _ := backend.BatchPageOf(max(events[b].index, 0))
		return cmp.Compare(pa, pb)
	})
}

// firedEvents reads {status, fired...} replies; status is returned.
func firedReply(r rueidis.RedisResult) (int64, []string, error) {
	arr, err := r.ToArray()
	if err != nil {
		return 0, nil, err
	}
	if len(arr) == 0 {
		return 0, nil, errors.New("empty reply")
	}
	status, err := arr[0].AsInt64()
	if err != nil {
		return 0, nil, err
	}
	var fired []string
	for _, m := range arr[1:] {
		s, _ := m.ToString()
		fired = append(fired, s)
	}
	return status, fired, nil
}
