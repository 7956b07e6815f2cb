// Package rediskeys is joblot's Redis key layout: the one place that names
// every key the Redis backend writes, and parses those names back for the
// tools that walk the keyspace (cleanup, the memory report, the CLI's
// meters). Changing a key name touches this file only.
//
// Every name starts with a prefix (DefaultPrefix, "jl", or the one
// backend/redis's Options.Prefix chooses), so that several applications
// can share one Redis under different prefixes. Every key of
// one queue shares the hash tag {<prefix>:q:<queue>} and every key of one
// batch the hash tag {<prefix>:b:<id>}, so every script call touches keys
// of exactly one Redis Cluster slot (backend/redis's
// TestScriptKeysShareOneSlot checks it). Shown below with the default
// prefix.
//
// Global keys (no hash tag, small; only plain commands or single-key scripts
// touch them):
//
//	jl:version            string  data-model version, written at Open (SET NX)
//	jl:queues             set     known queue names
//	jl:procs              zset    process id -> lease expiry (unix ms)
//	jl:proc:<id>          hash    process info (host, pid, queues, ...), and
//	                              quiet = "1" once the process is quiet or
//	                              an operator asked it to be (it reads the
//	                              field on its heartbeat)
//	jl:lease:<name>       string  holder of a background duty's lease
//	jl:batches            zset    batch id -> created (unix ms), pruned lazily
//	jl:stats              hash    global counters (expired_batch_events) and
//	                              outbox_sweep, ForwardCallbacks' resume offset
//	jl:outboxes           set     batch ids whose outbox may hold unforwarded
//	                              callbacks (swept by ForwardCallbacks)
//	jl:uncommitted        zset    batch id -> commit deadline (unix ms)
//	jl:periodic           hash    periodic job name -> its definition (JSON
//	                              backend.PeriodicDef), as the leading
//	                              server last wrote them (SetPeriodic)
//
// Pub/sub channel (not a key):
//
//	jl:cancel             "<queue>\n<job id>" of a job CancelJob found in
//	                      flight (or queued): servers cancel it if they run it
//
// Per queue q, tag {jl:q:<q>}:
//
//	:jobs         list    queued payloads; RPUSH at the tail on enqueue,
//	                      LPOP from the head on fetch; requeue and recovery
//	                      LPUSH to the head so those jobs run next
//	:sched        zset    payload -> due (unix ms)
//	:retry        zset    payload -> due (unix ms)
//	:dead         zset    payload -> died (unix ms)
//	:wip:<proc>   hash    in-flight jobs of proc: wipField(payload) -> payload
//	:stats        hash    processed, failed, dead_dropped, discarded, dead_bytes
//	:day:<date>   hash    processed, failed of one UTC day, with a TTL
//	:min:<HH>     hash    per-minute counters, a ring of 24 hashes (HH =
//	                      00..23, the UTC hour of the day): h the unix hour
//	                      it counts, p<m> and f<m> processed and failed of
//	                      minute m (0..59) of that hour (complete.lua
//	                      starts it over when the hour comes round again).
//	                      TTL: 24 h after its hour ends
//	:paused       string  present while the queue is paused
//	:bell         list    at most one ring: wakes an idle fetcher (BLPOP)
//	:wake:<proc>  list    one element that ends proc's own wait on the
//	                      bell (Quiet, Stop), with a TTL of seconds
//	:clearing     list    jobs taken off the queue by ClearQueue whose
//	                      batches have not yet counted them as removed
//	:once:<id>    string  dedupe of deterministic job ids (callbacks), TTL
//	                      onceTTL
//	:errs:<hour>  hash    error groups of the UTC hour YYYYMMDDHH (written by
//	                      complete.lua with each recorded failure): c:<fp>
//	                      count, l:<fp> last seen (unix ms), i:<fp> sample
//	                      (JSON: kind, class, job id, message, first seen);
//	                      "other" counts failures beyond the groups kept.
//	                      Expires Limits.ErrorGroupRetention after the hour
//	:cancel       set     ids of cancelled jobs to drop when fetched
//	                      (CancelJob); fetch reads it only while it exists,
//	                      and deletes it when it empties the queue
//	:uniq         hash    unique locks: lock key -> "<job id>" or
//	                      "<job id> <expiry unix ms>" of the job holding it
//	                      (backend.Job.Unique); one hash per queue, so that
//	                      a lock costs a field, not a key
//	:limit        hash    the queue's global limit (backend.QueueLimit):
//	                      conc, rate, per (ms), by (queue, kind or key);
//	                      written by SetLimits, read by fetch.lua
//	:lrun:<g>     set     ids of the jobs in flight holding a concurrency
//	                      slot of limit group g (one entry per job, added
//	                      by fetch, removed by the ack or the recovery)
//	:lheld        hash    job id -> limit group, of every slot held, so an
//	                      ack or a recovery finds the slot to release
//	:lwait:<g>    list    payloads waiting over group g's concurrency
//	                      limit; each release moves one to the queue's head
//	:lrate:<g>    zset    "<job id>:<ms>" -> fetched (unix ms), the fetches
//	                      of group g within the rate window; expires
//	:lgroups      set     limit groups with a slot held or a job waiting
//	:periodic     hash    periodic job name -> its last recorded instant
//	                      (unix ms): periodic.lua writes a later one only,
//	                      together with the job it enqueues
//
// Job output and progress, tag {jl:out} (one slot: the byte cap is
// counted atomically across every queue; backend/redis/lua/output_*.lua):
//
//	{jl:out}:data  hash    backend.OutputMember(queue, id) -> record
//	                       (backend.EncodeOutput: 'P' progress or 'S' final,
//	                       then JSON)
//	{jl:out}:exp   zset    member -> expiry (unix ms), Limits.OutputTTL
//	                       after the record's last write
//	{jl:out}:meta  hash    bytes (members and records of :data),
//	                       dropped (writes refused by the byte cap)
//
// Per batch id, tag {jl:b:<id>}:
//
//	:meta    hash    counters (total, pending, failing, succeeded, dead,
//	                 discarded, cancelled, removed), times (created,
//	                 committed_at, complete_at, success_at, death_at,
//	                 cancelled_at, settled_at), desc, parent, deadline,
//	                 expired, and the callback payloads cb:complete,
//	                 cb:settled, cb:success, cb:death
//	:bits    string  2 bits per job (backend.JobState) at its dense index,
//	                 in a batch without a "pages" meta field (written by
//	                 data model 2, read in place until it expires)
//	:bits:<p> string page p of a paged batch (meta "pages" = its page
//	                 size, backend.BatchPageSize): 2 bits per job at
//	                 index mod the size, then a u16 count of its settled
//	                 jobs (backend.Effect.PageSettles); deleted once every
//	                 job of the page has settled
//	:pdone   string  bit p set once page p was dropped (its jobs read as
//	                 backend.DroppedPageState)
//	:errs    hash    error groups (at most backend.MaxErrorGroups): per
//	                 fingerprint c:<fp> failures counted while the group
//	                 was kept, e:<fp> how many more it may have had before
//	                 (absent: none), l:<fp> last seen, i:<fp> first seen,
//	                 sample job, kind, class and message; "other": the
//	                 failures counted outside the kept groups
//	:outbox  list    fired callbacks not yet forwarded ("<event>\n<payload>")
//	:kids    set     child batch ids
//	:kidsc   set     children whose complete has not been acknowledged
//	:kidss   set     children whose success has not been acknowledged
//	:adds    hash    adding job id -> "<count>,<seq>:<n>:<index>,...": how
//	                 many sequence numbers it has used and its reservations
//	                 not yet marked landed; "<count>" once all have landed
//	                 (see backend/redis/lua/addsrec.lua)
//	:errc    zset    fingerprint -> c:<fp> + e:<fp> of :errs, the
//	                 Space-Saving count that finds the smallest group in
//	                 O(log K) (data model 2; rebuilt from :errs when absent)
//	:kidst   set     children whose settled has not been acknowledged
//	                 (registered before the parent settled; absent in a
//	                 batch written before settled existed: nothing waited)
package rediskeys

import (
	"fmt"
	"strings"
)

// DefaultPrefix starts every key name of the default layout.
const DefaultPrefix = "jl"

// maxPrefix bounds a prefix: it is repeated in every key name.
const maxPrefix = 64

// Layout names the keys of one joblot keyspace. The zero Layout is the
// default (prefix DefaultPrefix); New chooses another prefix. A Layout is a
// small immutable value, safe to copy and to share.
type Layout struct {
	prefix string // "" means DefaultPrefix
}

// New returns the layout of prefix ("" for DefaultPrefix). A prefix is 1
// to 64 characters of [A-Za-z0-9_.-]: it becomes part of every hash tag
// and SCAN pattern, so braces, colons and glob characters are refused.
func New(prefix string) (Layout, error) {
	if prefix == "" {
		return Layout{}, nil
	}
	if len(prefix) > maxPrefix {
		return Layout{}, fmt.Errorf("rediskeys: prefix of %d bytes: at most %d", len(prefix), maxPrefix)
	}
	for i := 0; i < len(prefix); i++ {
		c := prefix[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-' {
			continue
		}
		why := ""
		switch c {
		case '{', '}':
			why = ": a brace would move the keys' Redis Cluster hash tag"
		case ':':
			why = ": a colon would make its keys parse as another prefix's"
		}
		return Layout{}, fmt.Errorf("rediskeys: prefix %q: only ASCII letters, digits, '_', '.' and '-' are allowed%s", prefix, why)
	}
	if prefix == DefaultPrefix {
		return Layout{}, nil
	}
	return Layout{prefix: prefix}, nil
}

// Prefix returns the layout's prefix.
func (l Layout) Prefix() string {
	if l.prefix == "" {
		return DefaultPrefix
	}
	return l.prefix
}

func (l Layout) global(name string) string { return l.Prefix() + ":" + name }

// Version is the data-model version key.
func (l Layout) Version() string { return l.global("version") }

// Queues is the set of known queue names.
func (l Layout) Queues() string { return l.global("queues") }

// Procs is the process registry (process id -> lease expiry).
func (l Layout) Procs() string { return l.global("procs") }

// Proc is the info hash of process id.
func (l Layout) Proc(id string) string { return l.ProcPrefix() + id }

// ProcPrefix is what every process info key starts with.
func (l Layout) ProcPrefix() string { return l.global("proc:") }

// Lease holds the holder of the background duty name.
func (l Layout) Lease(name string) string { return l.global("lease:" + name) }

// Batches is the batch index (batch id -> created).
func (l Layout) Batches() string { return l.global("batches") }

// Stats holds the global counters.
func (l Layout) Stats() string { return l.global("stats") }

// Outboxes is the set of batch ids whose outbox may hold callbacks.
func (l Layout) Outboxes() string { return l.global("outboxes") }

// Uncommitted is the set of batches awaiting commit, by deadline.
func (l Layout) Uncommitted() string { return l.global("uncommitted") }

// Periodic holds the periodic job definitions the leading server wrote.
func (l Layout) Periodic() string { return l.global("periodic") }

// CancelChannel is the pub/sub channel of cancel requests for running
// jobs.
func (l Layout) CancelChannel() string { return l.global("cancel") }

// GlobalPrefix is what every global key starts with ("jl:").
func (l Layout) GlobalPrefix() string { return l.Prefix() + ":" }

// QueueTagPrefix is what every queue key starts with ("{jl:q:").
func (l Layout) QueueTagPrefix() string { return "{" + l.Prefix() + ":q:" }

// BatchTagPrefix is what every batch key starts with ("{jl:b:").
func (l Layout) BatchTagPrefix() string { return "{" + l.Prefix() + ":b:" }

// QueueTag is the hash tag of queue q's keys.
func (l Layout) QueueTag(q string) string { return l.QueueTagPrefix() + q + "}" }

// QPrefix is what every key of queue q starts with: its tag and a colon.
// enqueue.lua builds the queue's :once:<id> and :bell keys from it.
func (l Layout) QPrefix(q string) string { return l.qkey(q, "", "") }

// qkey is key suffix+arg of queue q, built with one allocation: these
// names are made on every enqueue, fetch and ack.
func (l Layout) qkey(q, suffix, arg string) string {
	return "{" + l.Prefix() + ":q:" + q + "}:" + suffix + arg
}

// Queue key suffixes (after QPrefix).
const (
	SuffixJobs     = "jobs"
	SuffixSched    = "sched"
	SuffixRetry    = "retry"
	SuffixDead     = "dead"
	SuffixWip      = "wip:" // followed by the process id
	SuffixStats    = "stats"
	SuffixDay      = "day:" // followed by the UTC date
	SuffixMinutes  = "min:" // followed by the UTC hour of the day, 00..23
	SuffixPaused   = "paused"
	SuffixBell     = "bell"
	SuffixWake     = "wake:" // followed by the process id
	SuffixClearing = "clearing"
	SuffixOnce     = "once:" // followed by the job id
	SuffixErrHour  = "errs:" // followed by the UTC hour, ErrHourFormat
	SuffixCancel   = "cancel"
	SuffixUniq     = "uniq"
	SuffixLimit    = "limit"
	SuffixLRun     = "lrun:" // followed by the limit group (may be empty)
	SuffixLHeld    = "lheld"
	SuffixLWait    = "lwait:" // followed by the limit group (may be empty)
	SuffixLRate    = "lrate:" // followed by the limit group (may be empty)
	SuffixLGroups  = "lgroups"
	SuffixPeriodic = "periodic"
)

// ErrHourFormat names the hour of a queue's error bucket (UTC).
const ErrHourFormat = "2006010215"

// QJobs is queue q's list of queued payloads.
func (l Layout) QJobs(q string) string { return l.qkey(q, SuffixJobs, "") }

// QSched is queue q's scheduled set.
func (l Layout) QSched(q string) string { return l.qkey(q, SuffixSched, "") }

// QRetry is queue q's retry set.
func (l Layout) QRetry(q string) string { return l.qkey(q, SuffixRetry, "") }

// QDead is queue q's dead set.
func (l Layout) QDead(q string) string { return l.qkey(q, SuffixDead, "") }

// QWip is the in-flight hash of process proc on queue q.
func (l Layout) QWip(q, proc string) string { return l.qkey(q, SuffixWip, proc) }

// QStats is queue q's counters.
func (l Layout) QStats(q string) string { return l.qkey(q, SuffixStats, "") }

// QDay is queue q's counters of one UTC day (YYYY-MM-DD).
func (l Layout) QDay(q, date string) string { return l.qkey(q, SuffixDay, date) }

// QMinutes is queue q's per-minute counters of the UTC hour of the day
// hour (0..23).
func (l Layout) QMinutes(q string, hour int) string {
	return l.qkey(q, SuffixMinutes, string([]byte{byte('0' + hour/10%10), byte('0' + hour%10)}))
}

// QPaused exists while queue q is paused.
func (l Layout) QPaused(q string) string { return l.qkey(q, SuffixPaused, "") }

// QBell is queue q's wake-up list.
func (l Layout) QBell(q string) string { return l.qkey(q, SuffixBell, "") }

// QWake ends the wait of process proc on queue q's bell: it waits on both.
func (l Layout) QWake(q, proc string) string { return l.qkey(q, SuffixWake, proc) }

// QClearing holds jobs ClearQueue took off queue q.
func (l Layout) QClearing(q string) string { return l.qkey(q, SuffixClearing, "") }

// QOnce remembers deterministic job id on queue q.
func (l Layout) QOnce(q, id string) string { return l.qkey(q, SuffixOnce, id) }

// QErrs is queue q's error bucket of hour (UTC, in ErrHourFormat).
func (l Layout) QErrs(q, hour string) string { return l.qkey(q, SuffixErrHour, hour) }

// QCancel is queue q's set of cancelled job ids (tombstones).
func (l Layout) QCancel(q string) string { return l.qkey(q, SuffixCancel, "") }

// QUniq is queue q's hash of unique locks.
func (l Layout) QUniq(q string) string { return l.qkey(q, SuffixUniq, "") }

// QLimit is queue q's global limit configuration.
func (l Layout) QLimit(q string) string { return l.qkey(q, SuffixLimit, "") }

// QLRun is the set of jobs holding a slot of limit group g of queue q.
func (l Layout) QLRun(q, g string) string { return l.qkey(q, SuffixLRun, g) }

// QLHeld maps the jobs holding a slot of queue q to their limit group.
func (l Layout) QLHeld(q string) string { return l.qkey(q, SuffixLHeld, "") }

// QLWait is the list of jobs of queue q waiting over group g's limit.
func (l Layout) QLWait(q, g string) string { return l.qkey(q, SuffixLWait, g) }

// QLRate is the rate window of limit group g of queue q.
func (l Layout) QLRate(q, g string) string { return l.qkey(q, SuffixLRate, g) }

// QLGroups is the set of queue q's limit groups in use.
func (l Layout) QLGroups(q string) string { return l.qkey(q, SuffixLGroups, "") }

// QPeriodic is queue q's hash of periodic jobs' last instants.
func (l Layout) QPeriodic(q string) string { return l.qkey(q, SuffixPeriodic, "") }

// OutputTag is the hash tag of the job output keys ("{jl:out}").
func (l Layout) OutputTag() string { return "{" + l.Prefix() + ":out}" }

// OutData is the hash of job output and progress records.
func (l Layout) OutData() string { return l.OutputTag() + ":data" }

// OutExp is the expiry index of the job output records.
func (l Layout) OutExp() string { return l.OutputTag() + ":exp" }

// OutMeta holds the job output byte count and drop counter.
func (l Layout) OutMeta() string { return l.OutputTag() + ":meta" }

// OutputKeys are the job output keys, in the order the output scripts
// take them: data, exp, meta.
func (l Layout) OutputKeys() []string { return []string{l.OutData(), l.OutExp(), l.OutMeta()} }

// BatchTag is the hash tag of batch id's keys.
func (l Layout) BatchTag(id string) string { return l.BatchTagPrefix() + id + "}" }

// Batch key suffixes, in the order BatchKeys returns them.
const (
	SuffixMeta   = "meta"
	SuffixBits   = "bits"
	SuffixErrs   = "errs"
	SuffixOutbox = "outbox"
	SuffixKids   = "kids"
	SuffixKidsC  = "kidsc"
	SuffixKidsS  = "kidss"
	SuffixAdds   = "adds"
	SuffixErrc   = "errc"
	SuffixKidsT  = "kidst"
	SuffixPDone  = "pdone"
	// SuffixPage starts the suffix of a page of a paged batch's job
	// states, "bits:<page>" (not one of BatchKeys: pages come and go).
	SuffixPage = SuffixBits + ":"
)

// batchKey is one key of a batch: its suffix and Redis type.
type batchKey struct{ suffix, typ string }

// batchKeys are a batch's keys in the order every batch script gets them
// (backend/redis/lua/batchlib.lua names them). A function, not a variable:
// the table is the layout and nothing may change it.
func batchKeys() [11]batchKey {
	return [11]batchKey{
		{SuffixMeta, "hash"},
		{SuffixBits, "string"},
		{SuffixErrs, "hash"},
		{SuffixOutbox, "list"},
		{SuffixKids, "set"},
		{SuffixKidsC, "set"},
		{SuffixKidsS, "set"},
		{SuffixAdds, "hash"},
		{SuffixErrc, "zset"},
		{SuffixKidsT, "set"},
		{SuffixPDone, "string"},
	}
}

// BMeta is batch id's meta hash.
func (l Layout) BMeta(id string) string { return "{" + l.Prefix() + ":b:" + id + "}:" + SuffixMeta }

// BOutbox is batch id's outbox list.
func (l Layout) BOutbox(id string) string { return "{" + l.Prefix() + ":b:" + id + "}:" + SuffixOutbox }

// BatchKeys are the keys of batch id that every batch script gets, in the
// order batchlib.lua names them: meta, bits, errs, outbox, kids, kidsc,
// kidss, adds, errc, kidst, pdone.
func (l Layout) BatchKeys(id string) []string {
	t := l.BatchTag(id) + ":"
	keys := batchKeys()
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = t + k.suffix
	}
	return out
}

// BatchKeyType returns the Redis type of the batch key with suffix, or
// false when no batch key has that suffix.
func BatchKeyType(suffix string) (string, bool) {
	if n, ok := strings.CutPrefix(suffix, SuffixPage); ok && n != "" && strings.Trim(n, "0123456789") == "" {
		return "string", true
	}
	for _, k := range batchKeys() {
		if k.suffix == suffix {
			return k.typ, true
		}
	}
	return "", false
}

// QueueKeyType returns the Redis type of the queue key with suffix (a
// fixed suffix, or one of the variable ones with its argument: "wip:p1",
// "wake:p1", "day:2024-01-02", "min:07", "once:<id>", "errs:2024010215"), or false when no
// queue key has it.
func QueueKeyType(suffix string) (string, bool) {
	switch {
	case suffix == SuffixJobs, suffix == SuffixBell, suffix == SuffixClearing, variable(suffix, SuffixWake):
		return "list", true
	case suffix == SuffixSched, suffix == SuffixRetry, suffix == SuffixDead:
		return "zset", true
	case suffix == SuffixStats, suffix == SuffixUniq, suffix == SuffixPeriodic, variable(suffix, SuffixWip), variable(suffix, SuffixDay), variable(suffix, SuffixMinutes), variable(suffix, SuffixErrHour):
		return "hash", true
	case suffix == SuffixPaused, variable(suffix, SuffixOnce):
		return "string", true
	case suffix == SuffixCancel:
		return "set", true
	}
	// Limit keys; a group may be empty (the whole queue's group).
	switch {
	case suffix == SuffixLimit, suffix == SuffixLHeld:
		return "hash", true
	case suffix == SuffixLGroups, strings.HasPrefix(suffix, SuffixLRun):
		return "set", true
	case strings.HasPrefix(suffix, SuffixLWait):
		return "list", true
	case strings.HasPrefix(suffix, SuffixLRate):
		return "zset", true
	}
	return "", false
}

// variable reports whether suffix is head followed by a non-empty argument.
func variable(suffix, head string) bool {
	return len(suffix) > len(head) && strings.HasPrefix(suffix, head)
}

// ParseQueueKey splits "{jl:q:<queue>}:<suffix>". ok is false for any
// other name, including one that starts like a queue key but has no tag end
// followed by a colon. The tag ends at the first "}", as Redis Cluster
// computes it.
func (l Layout) ParseQueueKey(key string) (queue, suffix string, ok bool) {
	return splitTagged(key, l.QueueTagPrefix())
}

// ParseBatchKey splits "{jl:b:<id>}:<suffix>" like ParseQueueKey.
func (l Layout) ParseBatchKey(key string) (id, suffix string, ok bool) {
	return splitTagged(key, l.BatchTagPrefix())
}

func splitTagged(key, prefix string) (id, suffix string, ok bool) {
	rest, ok := strings.CutPrefix(key, prefix)
	if !ok {
		return "", "", false
	}
	end := strings.IndexByte(rest, '}')
	if end < 0 || !strings.HasPrefix(rest[end+1:], ":") {
		return "", "", false
	}
	return rest[:end], rest[end+2:], true
}

// ProcID returns <id> of a process info key "jl:proc:<id>" (non-empty).
func (l Layout) ProcID(key string) (string, bool) {
	id, ok := strings.CutPrefix(key, l.ProcPrefix())
	return id, ok && id != ""
}

// Owns reports whether key is named like one of this layout's: a global
// key ("jl:...") or a tagged one ("{jl:...").
func (l Layout) Owns(key string) bool {
	p := l.Prefix()
	if strings.HasPrefix(key, "{") {
		key = key[1:]
	}
	return len(key) > len(p) && key[len(p)] == ':' && key[:len(p)] == p
}

// BatchKeyPattern is a SCAN MATCH pattern for every batch key. The prefix
// holds no glob character (New refuses them).
func (l Layout) BatchKeyPattern() string { return l.BatchTagPrefix() + "*" }

// QueueKeyPattern is a SCAN MATCH pattern for every queue key.
func (l Layout) QueueKeyPattern() string { return l.QueueTagPrefix() + "*" }
