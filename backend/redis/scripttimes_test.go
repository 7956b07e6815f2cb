package redis

import (
	"context"
	"reflect"
	"testing"

	"github.com/joblot/joblot/backend"
)

// TestMeasureScriptsNamesEachScript: the scripts a fetch and an ack run
// are timed under their names, and the slow log's settings come back.
func TestMeasureScriptsNamesEachScript(t *testing.T) {
	ctx := context.Background()
	b, _ := openTest(t)
	before, err := b.c.Do(ctx, b.c.B().ConfigGet().Parameter("slowlog-log-slower-than").Build()).AsStrMap()
	if err != nil {
		t.Fatal(err)
	}
	stop, err := b.MeasureScripts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mustEnqueue(t, b, newJob("q"), newJob("q"))
	got := mustFetch(t, b, "p1", "q", 10)
	results := make([]backend.Result, len(got))
	for i, f := range got {
		results[i] = backend.Result{Fetched: f, Outcome: backend.OutcomeSucceeded}
	}
	if err := b.Complete(ctx, "p1", results); err != nil {
		t.Fatal(err)
	}
	times, err := stop(ctx)
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]int64{}
	for _, st := range times {
		calls[st.Script] = st.Calls
	}
	if calls["fetch"] < 1 || calls["complete"] < 1 {
		t.Fatalf("script times %+v, want fetch and complete counted", times)
	}
	after, err := b.c.Do(ctx, b.c.B().ConfigGet().Parameter("slowlog-log-slower-than").Build()).AsStrMap()
	if err != nil || after["slowlog-log-slower-than"] != before["slowlog-log-slower-than"] {
		t.Fatalf("slowlog-log-slower-than %v after, %v before (%v)", after, before, err)
	}
}

// TestEveryScriptHasAName: each script the backend sends is found by its
// SHA, so no measured call reads "unknown".
func TestEveryScriptHasAName(t *testing.T) {
	names := scriptNamesBySHA()
	v := reflect.ValueOf(newScripts()).Elem()
	for i := range v.NumField() {
		s := (*script)(v.Field(i).UnsafePointer()) // unexported fields: read, not used
		if names[s.sha] == "" {
			t.Errorf("script %s (field %s) has no name by its SHA", s.name, v.Type().Field(i).Name)
		}
	}
}
