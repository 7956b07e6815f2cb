package redis

// Key layout (BRIEF §3; the same table is in notes/COMMON.md). Prefix "jl".
// Every key of one queue shares the hash tag {jl:q:<queue>} and every key of
// one batch the hash tag {jl:b:<id>}, so every script call touches keys of
// exactly one Redis Cluster slot (TestScriptKeysShareOneSlot checks it).
//
// Global keys (no hash tag, small; only plain commands or single-key scripts
// touch them):
//
//	jl:version            string  data-model version, written at Open (SET NX)
//	jl:queues             set     known queue names
//	jl:procs              zset    process id -> lease expiry (unix ms)
//	jl:proc:<id>          hash    process info (host, pid, queues, ...)
//	jl:lease:<name>       string  holder of a background duty's lease
//	jl:batches            zset    batch id -> created (unix ms), pruned lazily
//	jl:stats              hash    global counters (expired_batch_events) and
//	                              outbox_sweep, ForwardCallbacks' resume offset
//	jl:outboxes           set     batch ids whose outbox may hold unforwarded
//	                              callbacks (swept by ForwardCallbacks)
//	jl:uncommitted        zset    batch id -> commit deadline (unix ms)
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
//	:paused       string  present while the queue is paused
//	:once:<id>    string  dedupe of deterministic job ids (callbacks), TTL
//	                      onceTTL
//
// Per batch id, tag {jl:b:<id>}:
//
//	:meta    hash    counters (total, pending, failing, succeeded, dead,
//	                 discarded, cancelled, removed), times (created,
//	                 committed_at, complete_at, success_at, death_at,
//	                 cancelled_at), desc, parent, deadline, expired, and the
//	                 callback payloads cb:complete, cb:success, cb:death
//	:bits    string  2 bits per job (backend.JobState) at its dense index
//	:errs    hash    error groups: c:<fp> count, i:<fp> info; "other" count
//	:outbox  list    fired callbacks not yet forwarded ("<event>\n<payload>")
//	:kids    set     child batch ids
//	:kidsc   set     children whose complete has not been acknowledged
//	:kidss   set     children whose success has not been acknowledged
//	:adds    hash    adding job id -> "<count>,<seq>:<n>:<index>,...": how
//	                 many sequence numbers it has used and its reservations
//	                 not yet marked landed; "<count>" once all have landed
//	                 (see lua/addsrec.lua)

const (
	keyVersion     = "jl:version"
	keyQueues      = "jl:queues"
	keyProcs       = "jl:procs"
	keyBatches     = "jl:batches"
	keyStats       = "jl:stats"
	keyOutboxes    = "jl:outboxes"
	keyUncommitted = "jl:uncommitted"
)

func keyProc(id string) string    { return "jl:proc:" + id }
func keyLease(name string) string { return "jl:lease:" + name }
func queueTag(q string) string    { return "{jl:q:" + q + "}" }
func batchTag(id string) string   { return "{jl:b:" + id + "}" }
func qJobs(q string) string       { return queueTag(q) + ":jobs" }
func qSched(q string) string      { return queueTag(q) + ":sched" }
func qRetry(q string) string      { return queueTag(q) + ":retry" }
func qDead(q string) string       { return queueTag(q) + ":dead" }
func qWip(q, proc string) string  { return queueTag(q) + ":wip:" + proc }
func qStats(q string) string      { return queueTag(q) + ":stats" }
func qDay(q, date string) string  { return queueTag(q) + ":day:" + date }
func qPaused(q string) string     { return queueTag(q) + ":paused" }
func qBell(q string) string       { return queueTag(q) + ":bell" }
func qPrefix(q string) string     { return queueTag(q) + ":" }
func bMeta(id string) string      { return batchTag(id) + ":meta" }
func bOutbox(id string) string    { return batchTag(id) + ":outbox" }

// batchKeys are the keys every batch script gets, in this order (lib.lua
// names them).
func batchKeys(id string) []string {
	t := batchTag(id)
	return []string{t + ":meta", t + ":bits", t + ":errs", t + ":outbox", t + ":kids", t + ":kidsc", t + ":kidss", t + ":adds"}
}
