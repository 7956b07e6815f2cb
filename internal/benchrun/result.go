package benchrun

// Result is what a bench run measured; its JSON form is the output of
// `joblot bench --json`.
//
// On the embedded backend the used_memory_* fields hold the database
// file's size (MemorySource says which): the file is what grows there.
type Result struct {
	Backend string `json:"backend"`
	Jobs    int64  `json:"jobs"`
	// EnqueuePerSec is jobs stored per second of the enqueue phase
	// (nothing is processed meanwhile).
	EnqueuePerSec float64 `json:"enqueue_per_sec"`
	// ProcessPerSec is jobs accounted per second from server start to the
	// last job's outcome.
	ProcessPerSec float64 `json:"process_per_sec"`
	// LatencyP50Ms and LatencyP99Ms are enqueue → start of first attempts.
	// The bench enqueues everything before it starts processing, so this
	// is mostly time spent waiting in the queue; `joblot bench latency`
	// measures it under an open-loop load.
	LatencyP50Ms float64 `json:"latency_p50_ms"`
	LatencyP99Ms float64 `json:"latency_p99_ms"`
	Succeeded    int64   `json:"succeeded"`
	Dead         int64   `json:"dead"`
	// Retrying counts failing jobs last seen going to the retry set (with
	// StopWhenRetrying: all failing jobs that have retries left).
	Retrying int64 `json:"retrying"`
	// Lost counts jobs enqueued but never accounted for: not succeeded, not
	// dead, and (with StopWhenRetrying) not retrying.
	Lost               int64  `json:"lost"`
	UsedMemoryBefore   int64  `json:"used_memory_before"`
	UsedMemoryEnqueued int64  `json:"used_memory_enqueued"`
	UsedMemoryAfter    int64  `json:"used_memory_after"`
	MemorySource       string `json:"memory_source"`
	// EnqueueSeconds and ProcessSeconds are the phases' durations (the
	// CLI prints them as enqueue_ms and process_ms).
	EnqueueSeconds float64 `json:"-"`
	ProcessSeconds float64 `json:"-"`
	Concurrency    int     `json:"concurrency"`
	// GoHeapResult is what the process allocated per job while it
	// processed them (server and bench bookkeeping; the enqueue phase is
	// not counted), and the GC cycles meanwhile.
	GoHeapResult

	// BatchResult is present only for runs with batches.
	*BatchResult
}

// BatchResult is the batch part of a Result.
type BatchResult struct {
	Batches int64 `json:"batches"`
	// Callbacks* count the distinct (batch, event) callbacks that ran.
	CallbacksComplete int64 `json:"callbacks_complete"`
	CallbacksSuccess  int64 `json:"callbacks_success"`
	CallbacksDeath    int64 `json:"callbacks_death"`
	// BatchBookkeepingBytes is the memory of the run's batch state after
	// processing (Redis: MEMORY USAGE … SAMPLES 0 summed over the batches'
	// keys); 0 when the backend cannot measure it.
	BatchBookkeepingBytes int64 `json:"batch_bookkeeping_bytes"`
}
