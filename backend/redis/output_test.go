package redis

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// An ack without output calls complete.lua only; one with output adds one
// output_put.lua call to the same pipeline, and nothing else.
func TestOutputAckScripts(t *testing.T) {
	ctx := context.Background()
	b, _ := openTest(t)
	var mu sync.Mutex
	var names []string
	b.hook = func(name string, _ []string) {
		mu.Lock()
		names = append(names, name)
		mu.Unlock()
	}
	calls := func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := names
		names = nil
		return out
	}
	mustEnqueue(t, b, newJob("q"), newJob("q"))
	fs := mustFetch(t, b, "p", "q", 2)
	calls()
	if err := b.Complete(ctx, "p", []backend.Result{{Fetched: fs[0], Outcome: backend.OutcomeSucceeded}}); err != nil {
		t.Fatal(err)
	}
	if got := calls(); !slices.Equal(got, []string{"complete.lua"}) {
		t.Fatalf("an ack without output called %v", got)
	}
	r := backend.Result{Fetched: fs[1], Outcome: backend.OutcomeSucceeded, Output: &backend.JobOutput{Queue: "q", ID: fs[1].ID, Output: []byte(`1`), Succeeded: true, UpdatedAt: time.Now()}}
	if err := b.Complete(ctx, "p", []backend.Result{r}); err != nil {
		t.Fatal(err)
	}
	if got := calls(); !slices.Equal(got, []string{"complete.lua", "output_put.lua"}) {
		t.Fatalf("an ack with output called %v", got)
	}
}

// At maxmemory the output is refused, not the ack: the job leaves its
// in-flight set and no record is kept.
func TestOutputAtMaxmemoryKeepsTheAck(t *testing.T) {
	ctx := context.Background()
	b, _ := openTest(t)
	mustEnqueue(t, b, newJob("q"))
	fs := mustFetch(t, b, "p", "q", 1)
	if err := b.c.Do(ctx, b.c.B().ConfigSet().ParameterValue().ParameterValue("maxmemory", "1").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	r := backend.Result{Fetched: fs[0], Outcome: backend.OutcomeSucceeded, Output: &backend.JobOutput{Queue: "q", ID: fs[0].ID, Output: []byte(`"x"`), Succeeded: true, UpdatedAt: time.Now()}}
	err := b.Complete(ctx, "p", []backend.Result{r})
	if err2 := b.c.Do(ctx, b.c.B().ConfigSet().ParameterValue().ParameterValue("maxmemory", "0").Build()).Error(); err2 != nil {
		t.Fatal(err2)
	}
	if err != nil {
		t.Fatalf("Complete at maxmemory: %v", err)
	}
	if n, _ := b.c.Do(ctx, b.c.B().Hlen().Key(b.keys.QWip("q", "p")).Build()).AsInt64(); n != 0 {
		t.Fatalf("%d jobs still in flight after the ack", n)
	}
	if _, err := b.JobOutput(ctx, "q", fs[0].ID); !errors.Is(err, backend.ErrNoOutput) {
		t.Fatalf("JobOutput after an ack at maxmemory: %v, want ErrNoOutput", err)
	}
}
