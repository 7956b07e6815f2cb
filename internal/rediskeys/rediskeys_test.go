package rediskeys

import (
	"slices"
	"strings"
	"testing"
)

// The default layout's names are the stored format (data model 1): they
// are spelled out here, not derived, so a rename fails this test.
func TestDefaultLayoutNames(t *testing.T) {
	var l Layout
	got := []string{l.Version(), l.Queues(), l.Procs(), l.Proc("p1"), l.Lease("fwd"), l.Batches(), l.Stats(), l.Outboxes(), l.Uncommitted(),
		l.QJobs("q"), l.QSched("q"), l.QRetry("q"), l.QDead("q"), l.QWip("q", "p1"), l.QStats("q"), l.QDay("q", "2025-01-02"),
		l.QPaused("q"), l.QBell("q"), l.QWake("q", "p1"), l.QClearing("q"), l.QOnce("q", "j1"), l.QPrefix("q"), l.QueueTag("q"),
		l.BatchTag("b1"), l.BMeta("b1"), l.BOutbox("b1"), l.Periodic(), l.QPeriodic("q")}
	want := []string{"jl:version", "jl:queues", "jl:procs", "jl:proc:p1", "jl:lease:fwd", "jl:batches", "jl:stats", "jl:outboxes", "jl:uncommitted",
		"{jl:q:q}:jobs", "{jl:q:q}:sched", "{jl:q:q}:retry", "{jl:q:q}:dead", "{jl:q:q}:wip:p1", "{jl:q:q}:stats", "{jl:q:q}:day:2025-01-02",
		"{jl:q:q}:paused", "{jl:q:q}:bell", "{jl:q:q}:wake:p1", "{jl:q:q}:clearing", "{jl:q:q}:once:j1", "{jl:q:q}:", "{jl:q:q}",
		"{jl:b:b1}", "{jl:b:b1}:meta", "{jl:b:b1}:outbox", "jl:periodic", "{jl:q:q}:periodic"}
	if !slices.Equal(got, want) {
		t.Errorf("names:\n got %q\nwant %q", got, want)
	}
	if k := l.BatchKeys("b1"); !slices.Equal(k, []string{"{jl:b:b1}:meta", "{jl:b:b1}:bits", "{jl:b:b1}:errs", "{jl:b:b1}:outbox",
		"{jl:b:b1}:kids", "{jl:b:b1}:kidsc", "{jl:b:b1}:kidss", "{jl:b:b1}:adds", "{jl:b:b1}:errc", "{jl:b:b1}:kidst", "{jl:b:b1}:pdone"}) {
		t.Errorf("BatchKeys = %q", k)
	}
	if l.BatchKeyPattern() != "{jl:b:*" || l.QueueKeyPattern() != "{jl:q:*" {
		t.Errorf("patterns %q %q", l.BatchKeyPattern(), l.QueueKeyPattern())
	}
	if d, err := New(""); err != nil || d != l {
		t.Errorf(`New("") = %+v, %v; want the zero Layout`, d, err)
	}
	if d, err := New(DefaultPrefix); err != nil || d != l {
		t.Errorf("New(DefaultPrefix) = %+v, %v; want the zero Layout", d, err)
	}
}

// Another prefix renames every key and keeps queue and batch keys in
// their hash tags; the parsers of one prefix do not claim the other's keys.
func TestOtherPrefix(t *testing.T) {
	l, err := New("app2")
	if err != nil {
		t.Fatal(err)
	}
	if l.Version() != "app2:version" || l.QJobs("q") != "{app2:q:q}:jobs" || l.BatchKeys("b")[7] != "{app2:b:b}:adds" || l.Proc("p") != "app2:proc:p" {
		t.Errorf("app2 names: %q %q %q %q", l.Version(), l.QJobs("q"), l.BatchKeys("b")[7], l.Proc("p"))
	}
	var def Layout
	if _, _, ok := def.ParseQueueKey(l.QJobs("q")); ok {
		t.Errorf("default layout parses app2's queue key")
	}
	if def.Owns(l.Version()) || def.Owns(l.QJobs("q")) || !l.Owns(l.QJobs("q")) || !l.Owns(l.Stats()) {
		t.Errorf("Owns confuses the prefixes")
	}
	for _, bad := range []string{"a{b", "a}b", "a:b", "a*", "a?", "a[b]", "a b", "a\tb", "a\nb", ":", "::", "{", "}", "caf\u00e9", "a\xffb", strings.Repeat("x", 65)} {
		if _, err := New(bad); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
}

func TestParse(t *testing.T) {
	var l Layout
	for _, c := range []struct {
		key, id, suffix string
		ok              bool
	}{
		{"{jl:q:default}:jobs", "default", "jobs", true},
		{"{jl:q:a:b}:wip:proc-1", "a:b", "wip:proc-1", true},
		{"{jl:q:broken", "", "", false},
		{"{jl:q:x}jobs", "", "", false},
		{"{jl:b:x}:meta", "", "", false},
		{"jl:queues", "", "", false},
	} {
		q, s, ok := l.ParseQueueKey(c.key)
		if q != c.id || s != c.suffix || ok != c.ok {
			t.Errorf("ParseQueueKey(%q) = %q, %q, %v", c.key, q, s, ok)
		}
	}
	if id, s, ok := l.ParseBatchKey("{jl:b:ABC.b1}:errs"); id != "ABC.b1" || s != "errs" || !ok {
		t.Errorf("ParseBatchKey = %q %q %v", id, s, ok)
	}
	if _, _, ok := l.ParseBatchKey("{jl:q:default}:jobs"); ok {
		t.Errorf("ParseBatchKey took a queue key")
	}
	if id, ok := l.ProcID("jl:proc:p9"); id != "p9" || !ok {
		t.Errorf("ProcID = %q %v", id, ok)
	}
	if _, ok := l.ProcID("jl:proc:"); ok {
		t.Errorf("ProcID took an empty id")
	}
	if _, ok := l.ProcID("jl:procs"); ok {
		t.Errorf("ProcID took the registry")
	}
}

// Every batch key and every queue key the layout names has a Redis type,
// and nothing else does.
func TestKeyTypes(t *testing.T) {
	var l Layout
	for _, k := range l.BatchKeys("b") {
		_, suffix, _ := l.ParseBatchKey(k)
		if _, ok := BatchKeyType(suffix); !ok {
			t.Errorf("batch key %q has no type", k)
		}
	}
	if typ, _ := BatchKeyType(SuffixOutbox); typ != "list" {
		t.Errorf("outbox type %q", typ)
	}
	for _, k := range []string{l.QJobs("q"), l.QSched("q"), l.QRetry("q"), l.QDead("q"), l.QWip("q", "p"), l.QStats("q"), l.QDay("q", "d"), l.QPaused("q"), l.QBell("q"), l.QWake("q", "p"), l.QClearing("q"), l.QOnce("q", "j"), l.QErrs("q", "2024010215"), l.QCancel("q"), l.QUniq("q")} {
		_, suffix, _ := l.ParseQueueKey(k)
		if _, ok := QueueKeyType(suffix); !ok {
			t.Errorf("queue key %q has no type", k)
		}
	}
	for _, s := range []string{"session", "wip:", "wake:", "day:", "once:", "errs:", "metaa"} {
		if _, ok := QueueKeyType(s); ok {
			t.Errorf("QueueKeyType(%q) claimed", s)
		}
		if _, ok := BatchKeyType(s); ok {
			t.Errorf("BatchKeyType(%q) claimed", s)
		}
	}
	if typ, _ := QueueKeyType(SuffixCancel); typ != "set" {
		t.Errorf("cancel type %q", typ)
	}
	if typ, _ := QueueKeyType(SuffixDead); typ != "zset" {
		t.Errorf("dead type %q", typ)
	}
}
