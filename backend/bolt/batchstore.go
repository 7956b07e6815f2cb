package bolt

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/joblot/joblot/backend"
)

// Batch storage (docs/data-model.md says why it is shaped so). Each batch is a nested bucket batches/<id>:
//
//	m             meta (batchMeta, JSON): counters, times, flags, callbacks
//	p<page u32>   2-bit job states (backend.JobState) of pageJobs jobs at
//	              dense indexes page*pageJobs..; a missing page is all
//	              pending, so adding jobs writes no page, and an ack
//	              rewrites one 4 KiB page, not the batch's whole bit string
//	e<fp>         one error group (errGroup, JSON); at most
//	              backend.MaxErrorGroups, the most frequent
//	              (Space-Saving, see countError); failures outside them
//	              count in meta.Other
//	n<est u64><fp> index of the groups by Count+Error (empty value), to
//	              find the smallest in O(log K); complete when
//	              meta.ErrIndexed (data model 2), else rebuilt first
//	k<child id>   a child batch: flags kidCompleteDone, kidSuccessDone,
//	              kidLate (registered after the parent's complete fired, so
//	              it gates success only), kidSettledWait (the parent's
//	              settled waits for it: registered before the parent
//	              settled, and not yet reported; a child registered by an
//	              older joblot has it clear and gates nothing)
//	a<job id>     how many jobs the job with that id has added (uvarint),
//	              for idempotent adds
//	d             a paged batch's dropped pages: bit n (of byte n/8) set
//	              once page n was deleted
//
// A batch created by data model 3 records its page size in meta.Pages
// (backend.BatchPageSize): each page then holds that many 2-bit states and
// a big-endian u16 count of its settled jobs (backend.Effect.PageSettles)
// after them, and is deleted, with its bit set in d, once every job in it
// has settled; a job of a deleted page reads as backend.DroppedPageState.
// A batch without meta.Pages (data model 2) keeps pages of pageJobs jobs
// for its life, read and written in place.
//
// A batch's memory does not grow with its failures: the pages are a fixed
// 2 bits per job, the error groups are capped.

// pageBytes is the size of one page of job states.
const pageBytes = 4096

// pageJobs is how many job states one page holds.
const pageJobs = pageBytes * 4

const (
	kidCompleteDone byte = 1 << iota
	kidSuccessDone
	kidLate
	kidSettledWait
)

var (
	keyBatchMeta = []byte("m")
	keyBatchDone = []byte("d")
)

// batchMeta is a batch's small record. Times are unix ms, 0 = not yet.
type batchMeta struct {
	Desc      string   `json:"desc,omitempty"`
	Parent    string   `json:"parent,omitempty"`
	Counters  [8]int64 `json:"c"` // indexed by backend.Counter; [0] is the total
	Created   int64    `json:"created"`
	Committed int64    `json:"committed,omitempty"`
	Complete  int64    `json:"complete,omitempty"`
	Success   int64    `json:"success,omitempty"`
	Death     int64    `json:"death,omitempty"`
	Cancelled int64    `json:"cancelled,omitempty"`
	// Settled is when settled fired (absent in a batch written by an
	// older joblot: it fires on the batch's next event if due).
	Settled   int64 `json:"settled,omitempty"`
	Deadline  int64 `json:"deadline,omitempty"`
	Expired   bool  `json:"expired,omitempty"`
	LastEvent int64 `json:"last"`
	// Expires is when the janitor deletes the batch; Indexed is the key
	// under which bexp holds it (a lower bound of Expires).
	Expires int64 `json:"expires"`
	Indexed int64 `json:"indexed,omitempty"`
	// Callbacks are the callback jobs, encoded with their final ID,
	// CallbackOf and CallbackEvent.
	Callbacks map[backend.CallbackEvent][]byte `json:"cb,omitempty"`
	// KidsComplete and KidsSuccess count children whose complete (success)
	// callback has not yet succeeded.
	KidsComplete int64 `json:"kc,omitempty"`
	KidsSuccess  int64 `json:"ks,omitempty"`
	// KidsSettled counts children whose settled has not yet reached this
	// batch (flag kidSettledWait).
	KidsSettled int64 `json:"kt,omitempty"`
	Groups      int   `json:"groups,omitempty"`
	Other       int64 `json:"other,omitempty"`
	// ErrIndexed says the n<est><fp> index holds every error group (data
	// model 2); a batch written without it is indexed on its next failure.
	ErrIndexed bool `json:"ei,omitempty"`
	// Pages is the page size of the batch's job states (data model 3:
	// backend.BatchPageSize, pages dropped once settled); 0 for a batch
	// written before, kept in pages of pageJobs for its life.
	Pages int64 `json:"pg,omitempty"`
}

func (m *batchMeta) total() int64 { return m.Counters[0] }

func (m *batchMeta) state() backend.BatchState {
	switch {
	case m.Success != 0:
		return backend.BatchSucceeded
	case m.Cancelled != 0:
		return backend.BatchCancelled
	case m.Expired:
		return backend.BatchExpired
	case m.Complete != 0:
		return backend.BatchComplete
	case m.Committed != 0:
		return backend.BatchRunning
	}
	return backend.BatchPopulating
}

// errGroup is one stored error group.
type errGroup struct {
	Kind, Class, Message, JobID string
	// Count is the failures counted since the group was kept; Error how
	// many it may have had before (backend.ErrorGroup).
	Count       int64
	Error       int64 `json:",omitempty"`
	First, Last int64
}

// btx is one batch inside a write transaction.
type btx struct {
	id    string
	bk    *bbolt.Bucket
	m     batchMeta
	pages map[uint32][]byte
	dirty map[uint32]bool
	// done is the d record of a paged batch, read on first use (nil: not
	// yet); doneDirty says it must be written back.
	done      []byte
	doneRead  bool
	doneDirty bool
	// touched: meta must be written back.
	touched bool
}

// batch returns batch id's state, or nil if it does not exist (never
// created, deleted or expired).
func (c *txc) batch(id string) (*btx, error) {
	if bt, ok := c.batches[id]; ok {
		return bt, nil
	}
	var bt *btx
	if bk := c.bucket(bucketBatches).Bucket([]byte(id)); bk != nil {
		bt = &btx{id: id, bk: bk, pages: map[uint32][]byte{}, dirty: map[uint32]bool{}}
		if err := json.Unmarshal(bk.Get(keyBatchMeta), &bt.m); err != nil {
			return nil, fmt.Errorf("batch %s: unreadable meta: %w", id, err)
		}
	}
	c.batches[id] = bt
	return bt, nil
}

func pageKey(page uint32) []byte {
	k := make([]byte, 5)
	k[0] = 'p'
	binary.BigEndian.PutUint32(k[1:], page)
	return k
}

// pageJobsOf is how many jobs one page of a batch with meta m holds.
func pageJobsOf(m *batchMeta) int64 {
	if m.Pages > 0 {
		return m.Pages
	}
	return pageJobs
}

// pageLen is the size of one page record of a batch with meta m: the
// states, and for a paged batch its settled count.
func pageLen(m *batchMeta) int {
	if m.Pages > 0 {
		return int(m.Pages/4) + 2
	}
	return pageBytes
}

// page returns the cached, writable copy of a page of states.
func (bt *btx) page(n uint32) []byte {
	if p, ok := bt.pages[n]; ok {
		return p
	}
	p := make([]byte, pageLen(&bt.m))
	copy(p, bt.bk.Get(pageKey(n)))
	bt.pages[n] = p
	return p
}

// dropped reports whether page n of a paged batch was deleted.
func (bt *btx) dropped(n uint32) bool {
	if bt.m.Pages == 0 {
		return false
	}
	if !bt.doneRead {
		bt.done = append([]byte(nil), bt.bk.Get(keyBatchDone)...)
		bt.doneRead = true
	}
	return pageDropped(bt.done, n)
}

func pageDropped(done []byte, n uint32) bool {
	return int(n/8) < len(done) && done[n/8]&(1<<(n%8)) != 0
}

func (bt *btx) state(idx int64) backend.JobState {
	size := pageJobsOf(&bt.m)
	n := uint32(idx / size)
	if bt.dropped(n) {
		return backend.DroppedPageState
	}
	p := bt.page(n)
	i := idx % size
	return backend.JobState(p[i/4]>>((i%4)*2)) & 3
}

func (bt *btx) setState(idx int64, s backend.JobState) {
	size := pageJobsOf(&bt.m)
	n := uint32(idx / size)
	p := bt.page(n)
	i := idx % size
	shift := (i % 4) * 2
	p[i/4] = p[i/4]&^(3<<shift) | byte(s)<<shift
	bt.dirty[n] = true
}

// settle counts one more settled job in the page of idx (a paged batch
// only), and drops the page once all its jobs have settled: its counts
// are in the counters already, and its jobs read as DroppedPageState.
func (bt *btx) settle(idx int64) {
	if bt.m.Pages == 0 {
		return
	}
	n := uint32(idx / bt.m.Pages)
	if bt.dropped(n) {
		return
	}
	p := bt.page(n)
	c := binary.BigEndian.Uint16(p[len(p)-2:]) + 1
	binary.BigEndian.PutUint16(p[len(p)-2:], c)
	bt.dirty[n] = true
	if int64(c) >= bt.m.Pages {
		for int(n/8) >= len(bt.done) {
			bt.done = append(bt.done, 0)
		}
		bt.done[n/8] |= 1 << (n % 8)
		bt.doneDirty = true
	}
}

// readState reads a job's state in a read-only transaction.
func readState(bk *bbolt.Bucket, idx int64) (backend.JobState, error) {
	var m batchMeta
	if err := json.Unmarshal(bk.Get(keyBatchMeta), &m); err != nil {
		return 0, fmt.Errorf("unreadable batch meta: %w", err)
	}
	size := pageJobsOf(&m)
	if pageDropped(bk.Get(keyBatchDone), uint32(idx/size)) {
		return backend.DroppedPageState, nil
	}
	p := bk.Get(pageKey(uint32(idx / size)))
	i := idx % size
	if int(i/4) >= len(p) {
		return backend.StatePending, nil
	}
	return backend.JobState(p[i/4]>>((i%4)*2)) & 3, nil
}

// flushBatches writes back every batch the round touched: its meta, its
// dirty pages, and its expiry index entry if the expiry moved earlier.
func (c *txc) flushBatches() error {
	for _, bt := range c.batches {
		if bt == nil || !bt.touched {
			continue
		}
		for n := range bt.dirty {
			var err error
			if pageDropped(bt.done, n) {
				err = bt.bk.Delete(pageKey(n))
			} else {
				err = bt.bk.Put(pageKey(n), bt.pages[n])
			}
			if err != nil {
				return err
			}
		}
		if bt.doneDirty {
			if err := bt.bk.Put(keyBatchDone, bt.done); err != nil {
				return err
			}
			bt.doneDirty = false
		}
		m := &bt.m
		m.LastEvent = int64(ms(c.now))
		switch {
		case m.Success != 0:
			m.Expires = m.Success + backend.DefaultSuccessLinger.Milliseconds()
		case m.Counters[backend.CounterDead] > 0:
			m.Expires = m.LastEvent + c.b.limits.DeadMaxAge.Milliseconds()
		default:
			m.Expires = m.LastEvent + backend.DefaultBatchHorizon.Milliseconds()
		}
		if m.Indexed == 0 || m.Expires < m.Indexed {
			exp := c.bucket(bucketBExp)
			if m.Indexed != 0 {
				if err := exp.Delete(idKey(time.UnixMilli(m.Indexed), bt.id)); err != nil {
					return err
				}
			}
			m.Indexed = m.Expires
			if err := exp.Put(idKey(time.UnixMilli(m.Indexed), bt.id), nil); err != nil {
				return err
			}
		}
		raw, err := json.Marshal(m)
		if err != nil {
			return err
		}
		if err := bt.bk.Put(keyBatchMeta, raw); err != nil {
			return err
		}
	}
	return nil
}

// kidFlags returns a child's flags in its parent (ok false: not a child).
func (bt *btx) kidFlags(kid string) (byte, bool) {
	v := bt.bk.Get(append([]byte("k"), kid...))
	if len(v) != 1 {
		return 0, false
	}
	return v[0], true
}

func (bt *btx) setKidFlags(kid string, f byte) error {
	return bt.bk.Put(append([]byte("k"), kid...), []byte{f})
}

// putMetaAsIs writes a batch's meta without treating it as an event.
func (c *txc) putMetaAsIs(bt *btx) error {
	raw, err := json.Marshal(&bt.m)
	if err != nil {
		return err
	}
	return bt.bk.Put(keyBatchMeta, raw)
}
