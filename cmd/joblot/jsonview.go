package main

import (
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/benchrun"
	"github.com/joblot/joblot/internal/cleanup"
	"github.com/joblot/joblot/internal/memreport"
)

// The JSON contract of every --json output, documented per command in
// docs/cli-json.md:
//
//   - keys are snake_case;
//   - times are RFC 3339 strings in UTC, their keys end in _at, and a time
//     that was never set is omitted (never null, never year 1);
//   - durations are numbers of milliseconds (with a fraction when needed),
//     their keys end in _ms;
//   - enums (job sets, batch states, callback events, actions) are
//     lowercase strings;
//   - a string that may be empty (no batch, no error, no further page) is
//     omitted when empty, and so is a figure the store cannot give;
//     numbers and booleans are otherwise always present;
//   - lists are always present, [] when empty, never null.
//
// The library types (package backend) carry no JSON tags: they are the Go
// API. Each one the CLI prints has one view type here, built by one
// function, reused by every command that prints it.

// jsonHelp is the line of `joblot --help` that points to the contract.
const jsonHelp = "Every --json output follows one contract (snake_case keys, RFC 3339 UTC\ntimes, durations in milliseconds): see docs/cli-json.md."

// jsonTime is t in UTC for a JSON field tagged omitempty: nil when t was
// never set.
func jsonTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

// millis is d in milliseconds.
func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// nonNil makes a nil list an empty one, so that it prints as [].
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// statsView is backend.Stats.
type statsView struct {
	Processed          int64         `json:"processed"`
	Failed             int64         `json:"failed"`
	DeadDropped        int64         `json:"dead_dropped"`
	Discarded          int64         `json:"discarded"`
	Cancelled          int64         `json:"cancelled"`
	ExpiredBatchEvents int64         `json:"expired_batch_events"`
	OutputRecords      int64         `json:"output_records"`
	OutputBytes        int64         `json:"output_bytes"`
	OutputDropped      int64         `json:"output_dropped"`
	Days               []dayView     `json:"days"`
	Queues             []queueView   `json:"queues"`
	Processes          []processView `json:"processes"`
}

func viewStats(s *backend.Stats) statsView {
	v := statsView{
		Processed: s.Processed, Failed: s.Failed, DeadDropped: s.DeadDropped,
		Discarded: s.Discarded, Cancelled: s.Cancelled, ExpiredBatchEvents: s.ExpiredBatchEvents,
		OutputRecords: s.OutputRecords, OutputBytes: s.OutputBytes, OutputDropped: s.OutputDropped,
		Days: []dayView{}, Queues: viewQueues(s.Queues), Processes: []processView{},
	}
	for _, d := range s.Days {
		v.Days = append(v.Days, dayView{Date: d.Date, Processed: d.Processed, Failed: d.Failed})
	}
	for _, p := range s.Processes {
		v.Processes = append(v.Processes, viewProcess(p))
	}
	return v
}

// dayView is backend.DayStats.
type dayView struct {
	// Date is a UTC date, 2006-01-02.
	Date      string `json:"date"`
	Processed int64  `json:"processed"`
	Failed    int64  `json:"failed"`
}

// queueView is backend.QueueStats.
type queueView struct {
	Name      string  `json:"name"`
	Size      int64   `json:"size"`
	InFlight  int64   `json:"in_flight"`
	Scheduled int64   `json:"scheduled"`
	Retry     int64   `json:"retry"`
	Dead      int64   `json:"dead"`
	LatencyMs float64 `json:"latency_ms"`
	Paused    bool    `json:"paused"`
}

func viewQueues(qs []backend.QueueStats) []queueView {
	v := make([]queueView, 0, len(qs))
	for _, q := range qs {
		v = append(v, queueView{
			Name: q.Name, Size: q.Size, InFlight: q.InFlight, Scheduled: q.Scheduled,
			Retry: q.Retry, Dead: q.Dead, LatencyMs: millis(q.Latency), Paused: q.Paused,
		})
	}
	return v
}

// processView is backend.ProcessInfo.
type processView struct {
	ID          string   `json:"id"`
	Hostname    string   `json:"hostname,omitempty"`
	PID         int      `json:"pid"`
	Queues      []string `json:"queues"`
	Concurrency int      `json:"concurrency"`
	InFlight    int      `json:"in_flight"`
	// Quiet: the process fetches no new jobs, or was asked not to.
	Quiet      bool       `json:"quiet"`
	StartedAt  *time.Time `json:"started_at,omitempty"`
	LastBeatAt *time.Time `json:"last_beat_at,omitempty"`
}

func viewProcess(p backend.ProcessInfo) processView {
	return processView{
		ID: p.ID, Hostname: p.Hostname, PID: p.PID, Queues: nonNil(p.Queues),
		Concurrency: p.Concurrency, InFlight: p.InFlight, Quiet: p.Quiet,
		StartedAt: jsonTime(p.StartedAt), LastBeatAt: jsonTime(p.LastBeat),
	}
}

// jobView is backend.Job. Args is printed as JSON when it is JSON, else
// as a base64 string.
type jobView struct {
	ID               string          `json:"id"`
	Queue            string          `json:"queue"`
	Kind             string          `json:"kind"`
	Args             json.RawMessage `json:"args,omitempty"`
	Attempt          int             `json:"attempt"`
	MaxRetries       int             `json:"max_retries"`
	CreatedAt        *time.Time      `json:"created_at,omitempty"`
	RunAt            *time.Time      `json:"run_at,omitempty"`
	BatchID          string          `json:"batch_id,omitempty"`
	CallbackOf       string          `json:"callback_of,omitempty"`
	CallbackEvent    string          `json:"callback_event,omitempty"`
	ErrorClass       string          `json:"error_class,omitempty"`
	ErrorMessage     string          `json:"error_message,omitempty"`
	ErrorFingerprint string          `json:"error_fingerprint,omitempty"`
	FailedAt         *time.Time      `json:"failed_at,omitempty"`
	DiedAt           *time.Time      `json:"died_at,omitempty"`
	Recoveries       int             `json:"recoveries"`
	ManualRetry      bool            `json:"manual_retry"`
	Snoozes          int             `json:"snoozes"`
	// Meta is omitted when the job has none; TraceContext is hex.
	Meta         map[string]string `json:"meta,omitempty"`
	TraceContext string            `json:"trace_context,omitempty"`
	// UniqueKey is the job's unique lock key; UniqueUntil when the lock
	// expires (both omitted when the job is not unique or has no expiry).
	UniqueKey   string     `json:"unique_key,omitempty"`
	UniqueUntil *time.Time `json:"unique_until,omitempty"`
}

func viewJob(j *backend.Job) jobView {
	ukey, until := j.Unique()
	return jobView{
		ID: j.ID, Queue: j.Queue, Kind: j.Kind, Args: jsonArgs(j.Args), Attempt: j.Attempt, MaxRetries: j.MaxRetries,
		CreatedAt: jsonTime(j.CreatedAt), RunAt: jsonTime(j.RunAt), BatchID: j.BatchID,
		CallbackOf: j.CallbackOf, CallbackEvent: string(j.CallbackEvent),
		ErrorClass: j.ErrorClass, ErrorMessage: j.ErrorMessage, ErrorFingerprint: j.ErrorFingerprint,
		FailedAt: jsonTime(j.FailedAt), DiedAt: jsonTime(j.DiedAt), Recoveries: j.Recoveries, ManualRetry: j.ManualRetry,
		Snoozes: int(j.Snoozes), Meta: j.Meta, TraceContext: hex.EncodeToString([]byte(j.TraceContext)),
		UniqueKey: ukey, UniqueUntil: jsonTime(until),
	}
}

// jobShowView is the output of `job show`: where the job is, and the job.
type jobShowView struct {
	State string  `json:"state"`
	Job   jobView `json:"job"`
	// Output is what the job recorded (joblot.SetOutput, SetProgress),
	// absent when it recorded nothing.
	Output *outputView `json:"output,omitempty"`
}

// outputView is backend.JobOutput.
type outputView struct {
	Succeeded bool            `json:"succeeded"`
	Progress  *int            `json:"progress,omitempty"`
	Note      string          `json:"note,omitempty"`
	Value     json.RawMessage `json:"value,omitempty"`
	UpdatedAt *time.Time      `json:"updated_at,omitempty"`
}

func viewOutput(o *backend.JobOutput) *outputView {
	if o == nil {
		return nil
	}
	v := &outputView{Succeeded: o.Succeeded, Note: o.Note, Value: jsonArgs(o.Output), UpdatedAt: jsonTime(o.UpdatedAt)}
	if o.HasProgress {
		v.Progress = &o.Progress
	}
	return v
}

// jobCancelView is the output of `job cancel`.
type jobCancelView struct {
	JobID  string `json:"job_id"`
	Queue  string `json:"queue"`
	Action string `json:"action"`
	// Result is removed, queued or running (backend.CancelResult).
	Result string `json:"result"`
}

// jsonArgs is a job's args as JSON: itself when it is JSON, else a base64
// JSON string; nil when there are none.
func jsonArgs(args []byte) json.RawMessage {
	if len(args) == 0 {
		return nil
	}
	if json.Valid(args) {
		return args
	}
	b, _ := json.Marshal(args) // []byte marshals as a base64 string
	return b
}

// batchView is backend.BatchStatus.
type batchView struct {
	ID          string `json:"id"`
	Description string `json:"description,omitempty"`
	ParentID    string `json:"parent_id,omitempty"`
	State       string `json:"state"`
	// Summary is the state in words, with what a complete batch still
	// waits for: "complete, 548 retrying", "complete, settled".
	Summary     string     `json:"summary"`
	Total       int64      `json:"total"`
	Pending     int64      `json:"pending"`
	Failing     int64      `json:"failing"`
	Succeeded   int64      `json:"succeeded"`
	Dead        int64      `json:"dead"`
	Discarded   int64      `json:"discarded"`
	Cancelled   int64      `json:"cancelled"`
	Removed     int64      `json:"removed"`
	CreatedAt   *time.Time `json:"created_at,omitempty"`
	CommittedAt *time.Time `json:"committed_at,omitempty"`
	CompleteAt  *time.Time `json:"complete_at,omitempty"`
	SettledAt   *time.Time `json:"settled_at,omitempty"`
	SuccessAt   *time.Time `json:"success_at,omitempty"`
	DeathAt     *time.Time `json:"death_at,omitempty"`
	CancelledAt *time.Time `json:"cancelled_at,omitempty"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	Children    []string   `json:"children"`
	// ErrorGroups are most frequent first; OtherErrors counts the failures
	// outside them. The groups' counts plus OtherErrors are the failures
	// counted.
	ErrorGroups []errorGroupView `json:"error_groups"`
	OtherErrors int64            `json:"other_errors"`
	// Callbacks are in event order: complete, settled, success, death.
	Callbacks []callbackView `json:"callbacks"`
}

func viewBatch(b *backend.BatchStatus) batchView {
	v := batchView{
		ID: b.ID, Description: b.Description, ParentID: b.ParentID, State: string(b.State), Summary: b.Summary(),
		Total: b.Total, Pending: b.Pending, Failing: b.Failing, Succeeded: b.Succeeded,
		Dead: b.Dead, Discarded: b.Discarded, Cancelled: b.Cancelled, Removed: b.Removed,
		CreatedAt: jsonTime(b.CreatedAt), CommittedAt: jsonTime(b.CommittedAt), CompleteAt: jsonTime(b.CompleteAt), SettledAt: jsonTime(b.SettledAt),
		SuccessAt: jsonTime(b.SuccessAt), DeathAt: jsonTime(b.DeathAt), CancelledAt: jsonTime(b.CancelledAt),
		ExpiresAt: jsonTime(b.ExpiresAt), Children: nonNil(b.Children),
		ErrorGroups: make([]errorGroupView, 0, len(b.ErrorGroups)), OtherErrors: b.OtherErrors,
		Callbacks: []callbackView{},
	}
	for _, g := range b.ErrorGroups {
		v.ErrorGroups = append(v.ErrorGroups, viewErrorGroup(g))
	}
	for _, ev := range backend.CallbackEvents {
		if cb := b.Callbacks[ev]; cb != nil {
			v.Callbacks = append(v.Callbacks, callbackView{Event: string(ev), Kind: cb.Kind, Queue: cb.Queue, Args: jsonArgs(cb.Args)})
		}
	}
	return v
}

func viewBatches(list []*backend.BatchStatus) []batchView {
	v := make([]batchView, 0, len(list))
	for _, b := range list {
		v = append(v, viewBatch(b))
	}
	return v
}

// errorGroupView is backend.ErrorGroup.
type errorGroupView struct {
	Fingerprint string `json:"fingerprint"`
	Kind        string `json:"kind"`
	Class       string `json:"class,omitempty"`
	Message     string `json:"message,omitempty"`
	JobID       string `json:"job_id,omitempty"`
	Count       int64  `json:"count"`
	// CountError bounds what Count may miss: the fingerprint failed
	// between count and count+count_error times.
	CountError  int64      `json:"count_error"`
	FirstSeenAt *time.Time `json:"first_seen_at,omitempty"`
	LastSeenAt  *time.Time `json:"last_seen_at,omitempty"`
}

func viewErrorGroup(g backend.ErrorGroup) errorGroupView {
	return errorGroupView{
		Fingerprint: g.Fingerprint, Kind: g.Kind, Class: g.Class, Message: g.Message, JobID: g.JobID,
		Count: g.Count, CountError: g.Error, FirstSeenAt: jsonTime(g.FirstSeen), LastSeenAt: jsonTime(g.LastSeen),
	}
}

// callbackView is one configured batch callback (a template job).
type callbackView struct {
	Event string          `json:"event"`
	Kind  string          `json:"kind"`
	Queue string          `json:"queue"`
	Args  json.RawMessage `json:"args,omitempty"`
}

// jobActView is what `<set> retry|delete` prints.
type jobActView struct {
	// Action is the command: retry or delete.
	Action string `json:"action"`
	Set    string `json:"set"`
	// Count is how many jobs were acted on.
	Count int `json:"count"`
}

// batchActView is what `batch cancel|delete` prints.
type batchActView struct {
	BatchID string `json:"batch_id"`
	// Action is the command: cancel or delete.
	Action string `json:"action"`
}

// queueActView is what `queue pause|resume` prints.
type queueActView struct {
	Queue string `json:"queue"`
	// Action is the command: pause or resume.
	Action string `json:"action"`
}

// queueClearView is what `queue clear` prints.
type queueClearView struct {
	Queue  string `json:"queue"`
	Action string `json:"action"`
	// Count is how many jobs were removed.
	Count int `json:"count"`
}

// memoryView is memreport.Result with its duration in milliseconds.
type memoryView struct {
	*memreport.Result
	ElapsedMs float64 `json:"elapsed_ms"`
}

func viewMemory(r *memreport.Result) memoryView {
	r.Families = nonNil(r.Families)
	for i := range r.Families {
		r.Families[i].Top = nonNil(r.Families[i].Top)
	}
	return memoryView{Result: r, ElapsedMs: millis(r.Elapsed)}
}

// cleanupView is cleanup.Result with its duration in milliseconds.
type cleanupView struct {
	*cleanup.Result
	ElapsedMs float64 `json:"elapsed_ms"`
}

func viewCleanup(r *cleanup.Result) cleanupView {
	r.Targets = nonNil(r.Targets)
	for i := range r.Targets {
		r.Targets[i].Examples = nonNil(r.Targets[i].Examples)
		r.Targets[i].Kept = nonNil(r.Targets[i].Kept)
	}
	return cleanupView{Result: r, ElapsedMs: millis(r.Elapsed)}
}

// benchView is benchrun.Result with its phases' durations in milliseconds.
type benchView struct {
	*benchrun.Result
	EnqueueMs float64 `json:"enqueue_ms"`
	ProcessMs float64 `json:"process_ms"`
	// Scripts is present with --script-times only.
	Scripts []scriptTimeView `json:"scripts,omitempty"`
}

// scriptTimeView is one script's Redis time over a bench run (enqueue
// and processing), per job and per call.
type scriptTimeView struct {
	redis.ScriptTime
	MicrosPerJob  float64 `json:"usec_per_job"`
	MicrosPerCall float64 `json:"usec_per_call"`
}

func viewBench(r *benchrun.Result, scripts []redis.ScriptTime) benchView {
	v := benchView{Result: r, EnqueueMs: r.EnqueueSeconds * 1000, ProcessMs: r.ProcessSeconds * 1000}
	for _, s := range scripts {
		v.Scripts = append(v.Scripts, scriptTimeView{ScriptTime: s,
			MicrosPerJob:  float64(s.Micros) / float64(max(r.Jobs, 1)),
			MicrosPerCall: float64(s.Micros) / float64(max(s.Calls, 1))})
	}
	return v
}

// benchLatencyView is benchrun.LatencyResult with its duration in
// milliseconds.
type benchLatencyView struct {
	*benchrun.LatencyResult
	DurationMs float64 `json:"duration_ms"`
}

func viewBenchLatency(r *benchrun.LatencyResult) benchLatencyView {
	return benchLatencyView{LatencyResult: r, DurationMs: r.DurationSeconds * 1000}
}

// benchIdleView is benchrun.IdleResult with its duration in milliseconds.
type benchIdleView struct {
	*benchrun.IdleResult
	DurationMs float64 `json:"duration_ms"`
}

func viewBenchIdle(r *benchrun.IdleResult) benchIdleView {
	r.Commands = nonNil(r.Commands)
	return benchIdleView{IdleResult: r, DurationMs: r.DurationSeconds * 1000}
}

// viewBenchVerify is benchrun.Verification with its lists never null.
func viewBenchVerify(v *benchrun.Verification) *benchrun.Verification {
	v.LostSample = nonNil(v.LostSample)
	return v
}

// benchEnqueueView is what `bench enqueue` prints.
type benchEnqueueView struct {
	Jobs          int64   `json:"jobs"`
	EnqueueMs     float64 `json:"enqueue_ms"`
	EnqueuePerSec float64 `json:"enqueue_per_sec"`
	Ledger        string  `json:"ledger"`
}
