package memreport

import (
	"strings"

	"github.com/joblot/joblot/internal/rediskeys"
)

// Family is a group of keys the report attributes memory to, named by a
// stable identifier (used in JSON and by the metrics exporter).
type Family string

// joblot's own families (package rediskeys has the layout; shown with the
// default prefix).
const (
	Queues      Family = "queues"       // {jl:q:*}:jobs
	Scheduled   Family = "scheduled"    // {jl:q:*}:sched
	Retry       Family = "retry"        // {jl:q:*}:retry
	Dead        Family = "dead"         // {jl:q:*}:dead
	InFlight    Family = "in-flight"    // {jl:q:*}:wip:*
	BatchState  Family = "batch-state"  // {jl:b:*}:* except :errs and :errc, and jl:batches
	BatchErrors Family = "batch-errors" // {jl:b:*}:errs and :errc
	QueueErrors Family = "queue-errors" // {jl:q:*}:errs:* (hourly error groups)
	Stats       Family = "stats"        // {jl:q:*}:stats, {jl:q:*}:day:*, jl:stats
	Throughput  Family = "throughput"   // {jl:q:*}:min:* (per-minute counters)
	Processes   Family = "processes"    // jl:procs, jl:proc:*
	JobOutput   Family = "job-output"   // {jl:out}:data, :exp, :meta (job output and progress)
	JoblotOther Family = "joblot-other" // every other jl:* / {jl:...} key
)

// Legacy Sidekiq and Sidekiq Pro families.
const (
	SidekiqQueues        Family = "sidekiq-queues"         // queue:*
	SidekiqSchedule      Family = "sidekiq-schedule"       // schedule
	SidekiqRetry         Family = "sidekiq-retry"          // retry
	SidekiqDead          Family = "sidekiq-dead"           // dead
	SidekiqBatch         Family = "sidekiq-batch"          // b-<bid> (hash)
	SidekiqBatchJids     Family = "sidekiq-batch-jids"     // b-<bid>-jids (set)
	SidekiqBatchFailinfo Family = "sidekiq-batch-failinfo" // b-<bid>-failinfo (hash)
	SidekiqBatchFailed   Family = "sidekiq-batch-failed"   // b-<bid>-failed (set)
	SidekiqBatchDied     Family = "sidekiq-batch-died"     // b-<bid>-died (set)
	SidekiqProcesses     Family = "sidekiq-processes"      // processes
	SidekiqStats         Family = "sidekiq-stats"          // stat:*
)

// Other holds every key no family above claims.
const Other Family = "other"

// FamilyInfo describes a family for display.
type FamilyInfo struct {
	Family  Family `json:"family"`
	Pattern string `json:"pattern"`
	// Legacy marks Sidekiq / Sidekiq Pro families.
	Legacy bool `json:"legacy"`
}

// families lists every family in display order, with the patterns of
// layout l.
func families(l rediskeys.Layout) []FamilyInfo {
	q, b, g := l.QueueTagPrefix()+"*}:", l.BatchTagPrefix()+"*}:", l.GlobalPrefix()
	return []FamilyInfo{
		{Queues, q + rediskeys.SuffixJobs, false},
		{Scheduled, q + rediskeys.SuffixSched, false},
		{Retry, q + rediskeys.SuffixRetry, false},
		{Dead, q + rediskeys.SuffixDead, false},
		{InFlight, q + rediskeys.SuffixWip + "*", false},
		{BatchState, b + "meta|bits|outbox|kids|adds|..., " + l.Batches(), false},
		{BatchErrors, b + rediskeys.SuffixErrs + "|" + rediskeys.SuffixErrc, false},
		{QueueErrors, q + rediskeys.SuffixErrHour + "*", false},
		{Stats, q + rediskeys.SuffixStats + "|" + rediskeys.SuffixDay + "*, " + l.Stats(), false},
		{Throughput, q + rediskeys.SuffixMinutes + "*", false},
		{Processes, l.Procs() + ", " + l.ProcPrefix() + "*", false},
		{JobOutput, l.OutputTag() + ":*", false},
		{JoblotOther, g + "*, {" + g + "*} (rest)", false},
		{SidekiqQueues, "queue:*", true},
		{SidekiqSchedule, "schedule", true},
		{SidekiqRetry, "retry", true},
		{SidekiqDead, "dead", true},
		{SidekiqBatch, "b-<bid> (hash)", true},
		{SidekiqBatchJids, "b-<bid>-jids", true},
		{SidekiqBatchFailinfo, "b-<bid>-failinfo", true},
		{SidekiqBatchFailed, "b-<bid>-failed", true},
		{SidekiqBatchDied, "b-<bid>-died", true},
		{SidekiqProcesses, "processes", true},
		{SidekiqStats, "stat:*", true},
		{Other, "*", false},
	}
}

// Families returns every family in display order, with the key patterns
// of layout l.
func Families(l rediskeys.Layout) []FamilyInfo { return families(l) }

// Classify names the family of key from its name alone. When wantType is
// not empty the key belongs to the family only if its Redis TYPE is
// wantType, and to Other otherwise: Sidekiq Pro's "b-<bid>" names are
// short and generic enough that other applications use them too.
func Classify(l rediskeys.Layout, key string) (f Family, wantType string) {
	if l.Owns(key) {
		return classifyJoblot(l, key), ""
	}
	switch {
	case strings.HasPrefix(key, "queue:"):
		return SidekiqQueues, ""
	case key == "schedule":
		return SidekiqSchedule, ""
	case key == "retry":
		return SidekiqRetry, ""
	case key == "dead":
		return SidekiqDead, ""
	case key == "processes":
		return SidekiqProcesses, ""
	case strings.HasPrefix(key, "stat:"):
		return SidekiqStats, ""
	case strings.HasPrefix(key, "b-"):
		return classifySidekiqBatchKey(key)
	}
	return Other, ""
}

// classifyJoblot names the family of a key of layout l.
func classifyJoblot(l rediskeys.Layout, key string) Family {
	if _, suffix, ok := l.ParseQueueKey(key); ok {
		switch {
		case suffix == rediskeys.SuffixJobs:
			return Queues
		case suffix == rediskeys.SuffixSched:
			return Scheduled
		case suffix == rediskeys.SuffixRetry:
			return Retry
		case suffix == rediskeys.SuffixDead:
			return Dead
		case strings.HasPrefix(suffix, rediskeys.SuffixWip):
			return InFlight
		case suffix == rediskeys.SuffixStats || strings.HasPrefix(suffix, rediskeys.SuffixDay):
			return Stats
		case strings.HasPrefix(suffix, rediskeys.SuffixErrHour):
			return QueueErrors
		case strings.HasPrefix(suffix, rediskeys.SuffixMinutes):
			return Throughput
		}
		return JoblotOther
	}
	if _, suffix, ok := l.ParseBatchKey(key); ok {
		if suffix == rediskeys.SuffixErrs || suffix == rediskeys.SuffixErrc {
			return BatchErrors
		}
		return BatchState
	}
	if strings.HasPrefix(key, l.OutputTag()+":") {
		return JobOutput
	}
	switch {
	case key == l.Batches():
		return BatchState
	case key == l.Stats():
		return Stats
	case key == l.Procs():
		return Processes
	}
	if _, ok := l.ProcID(key); ok {
		return Processes
	}
	return JoblotOther
}

// sidekiqBatchSuffixes maps the suffix of "b-<bid>-<suffix>" to its family
// and the type Sidekiq Pro stores it as.
var sidekiqBatchSuffixes = []struct {
	suffix string
	family Family
	typ    string
}{
	{"-failinfo", SidekiqBatchFailinfo, "hash"},
	{"-jids", SidekiqBatchJids, "set"},
	{"-failed", SidekiqBatchFailed, "set"},
	{"-died", SidekiqBatchDied, "set"},
}

func classifySidekiqBatchKey(key string) (Family, string) {
	for _, s := range sidekiqBatchSuffixes {
		if bid, ok := strings.CutSuffix(key[2:], s.suffix); ok && IsSidekiqBID(bid) {
			return s.family, s.typ
		}
	}
	if IsSidekiqBID(key[2:]) {
		return SidekiqBatch, "hash"
	}
	return Other, ""
}

// IsSidekiqBID reports whether s can be a Sidekiq Pro batch id: Sidekiq Pro
// makes them with SecureRandom.urlsafe_base64 (14 characters of
// [A-Za-z0-9_-]); any length from 1 to 64 of that alphabet is accepted.
func IsSidekiqBID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
