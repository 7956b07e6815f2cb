package memreport

import "strings"

// Family is a group of keys the report attributes memory to, named by a
// stable identifier (used in JSON and by the metrics exporter).
type Family string

// joblot's own families (BRIEF §3 layout, prefix "jl").
const (
	Queues      Family = "queues"       // {jl:q:*}:jobs
	Scheduled   Family = "scheduled"    // {jl:q:*}:sched
	Retry       Family = "retry"        // {jl:q:*}:retry
	Dead        Family = "dead"         // {jl:q:*}:dead
	InFlight    Family = "in-flight"    // {jl:q:*}:wip:*
	BatchState  Family = "batch-state"  // {jl:b:*}:* except :errs, and jl:batches
	BatchErrors Family = "batch-errors" // {jl:b:*}:errs
	Stats       Family = "stats"        // {jl:q:*}:stats, {jl:q:*}:day:*, jl:stats
	Processes   Family = "processes"    // jl:procs, jl:proc:*
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

// Families lists every family in display order.
var families = []FamilyInfo{
	{Queues, "{jl:q:*}:jobs", false},
	{Scheduled, "{jl:q:*}:sched", false},
	{Retry, "{jl:q:*}:retry", false},
	{Dead, "{jl:q:*}:dead", false},
	{InFlight, "{jl:q:*}:wip:*", false},
	{BatchState, "{jl:b:*}:meta|bits|outbox|kids|adds|..., jl:batches", false},
	{BatchErrors, "{jl:b:*}:errs", false},
	{Stats, "{jl:q:*}:stats|day:*, jl:stats", false},
	{Processes, "jl:procs, jl:proc:*", false},
	{JoblotOther, "jl:*, {jl:*} (rest)", false},
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

// Families returns every family in display order.
func Families() []FamilyInfo { return append([]FamilyInfo(nil), families...) }

// Classify names the family of key from its name alone. When wantType is
// not empty the key belongs to the family only if its Redis TYPE is
// wantType, and to Other otherwise: Sidekiq Pro's "b-<bid>" names are
// short and generic enough that other applications use them too.
func Classify(key string) (f Family, wantType string) {
	switch {
	case strings.HasPrefix(key, "{jl:q:"):
		return classifyQueueKey(key), ""
	case strings.HasPrefix(key, "{jl:b:"):
		_, suffix, ok := splitTagged(key, "{jl:b:")
		switch {
		case !ok:
			return JoblotOther, ""
		case suffix == "errs":
			return BatchErrors, ""
		default:
			return BatchState, ""
		}
	case strings.HasPrefix(key, "jl:"):
		switch {
		case key == "jl:batches":
			return BatchState, ""
		case key == "jl:stats":
			return Stats, ""
		case key == "jl:procs" || strings.HasPrefix(key, "jl:proc:"):
			return Processes, ""
		default:
			return JoblotOther, ""
		}
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

// splitTagged splits "{<prefix><id>}:<suffix>" into id and suffix. The hash
// tag ends at the first "}", as Redis Cluster computes it.
func splitTagged(key, prefix string) (id, suffix string, ok bool) {
	rest := key[len(prefix):]
	end := strings.IndexByte(rest, '}')
	if end < 0 || !strings.HasPrefix(rest[end+1:], ":") {
		return "", "", false
	}
	return rest[:end], rest[end+2:], true
}

func classifyQueueKey(key string) Family {
	_, suffix, ok := splitTagged(key, "{jl:q:")
	if !ok {
		return JoblotOther
	}
	switch {
	case suffix == "jobs":
		return Queues
	case suffix == "sched":
		return Scheduled
	case suffix == "retry":
		return Retry
	case suffix == "dead":
		return Dead
	case strings.HasPrefix(suffix, "wip:"):
		return InFlight
	case suffix == "stats" || strings.HasPrefix(suffix, "day:"):
		return Stats
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
