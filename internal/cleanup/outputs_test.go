package cleanup

import (
	"context"
	"testing"

	"github.com/joblot/joblot/internal/rediskeys"
	"github.com/joblot/joblot/internal/redistest"
)

// JobOutputs removes the three job output keys together (a dry run only
// reports them) and nothing else.
func TestJobOutputsRemovesTheFamily(t *testing.T) {
	srv := redistest.Start(t)
	c := newClient(t, srv)
	var l rediskeys.Layout
	do(t, c, "HSET", l.OutData(), "1:qa", "P{}", "1:qb", "S{}")
	do(t, c, "ZADD", l.OutExp(), "1", "1:qa", "2", "1:qb")
	do(t, c, "HSET", l.OutMeta(), "bytes", "10", "dropped", "3")
	do(t, c, "SET", "{jl:out}x", "not ours")
	do(t, c, "SET", "{jl:q:default}:paused", "1")

	ctx := context.Background()
	res, err := Run(ctx, c, Options{Targets: []Target{JobOutputs}})
	if err != nil {
		t.Fatal(err)
	}
	tr := res.Lookup(JobOutputs)
	if tr == nil || tr.Keys != 3 || tr.Bytes <= 0 {
		t.Fatalf("dry run: %+v", tr)
	}
	if n, _ := do(t, c, "EXISTS", l.OutData(), l.OutExp(), l.OutMeta()).AsInt64(); n != 3 {
		t.Fatalf("a dry run removed job output keys: %d of 3 left", n)
	}
	if _, err := Run(ctx, c, Options{Targets: []Target{JobOutputs}, Apply: true}); err != nil {
		t.Fatal(err)
	}
	if n, _ := do(t, c, "EXISTS", l.OutData(), l.OutExp(), l.OutMeta()).AsInt64(); n != 0 {
		t.Fatalf("%d job output keys left after Apply", n)
	}
	if n, _ := do(t, c, "EXISTS", "{jl:out}x", "{jl:q:default}:paused").AsInt64(); n != 2 {
		t.Fatalf("Apply removed keys outside the family: %d of 2 left", n)
	}
}
