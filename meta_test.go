package joblot

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/joblot/joblot/backend"
)

type metaArgs struct {
	N int `json:"n"`
}

func (metaArgs) Kind() string { return "meta" }

// metaDefaultsArgs carry their own metadata defaults.
type metaDefaultsArgs struct{}

func (metaDefaultsArgs) Kind() string { return "meta_defaults" }

func (metaDefaultsArgs) EnqueueOpts() EnqueueOpts {
	return EnqueueOpts{Meta: map[string]string{"team": "billing", "tenant": "default"}}
}

// seen is what one run of a job showed its worker and worker middleware.
type seen struct {
	attempt      int
	meta         map[string]string
	mwMeta       map[string]string
	traceContext []byte
}

// Metadata given at enqueue and added by enqueue middleware, and the trace
// context middleware sets, reach the worker on every attempt (a retry
// included); the caller's map is not changed.
func TestMetaReachesWorker(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		tc := bytes.Repeat([]byte{0xab}, 26)
		client := NewClient(b, ClientConfig{Middleware: []EnqueueMiddleware{
			func(ctx context.Context, j *EnqueueJob, next func(context.Context) error) error {
				j.SetMeta("request_id", ctx.Value(requestKey{}).(string))
				j.TraceContext = tc
				return next(ctx)
			},
			func(ctx context.Context, j *EnqueueJob, next func(context.Context) error) error {
				if j.Kind != "meta" || j.Queue != DefaultQueue || j.Args.(metaArgs).N != 7 {
					t.Errorf("middleware saw kind %q queue %q args %+v", j.Kind, j.Queue, j.Args)
				}
				j.SetMeta("inner", "yes")
				return next(ctx)
			},
		}})
		var runs recorder[seen]
		var cur atomic.Pointer[seen]
		ws := NewWorkers()
		AddWorker(ws, WorkFunc[metaArgs](func(ctx context.Context, j *Job[metaArgs]) error {
			s := cur.Load()
			s.meta = maps.Clone(j.Meta)
			runs.add(*s)
			if j.Attempt == 1 {
				return errors.New("first attempt fails")
			}
			return nil
		}), nil)
		cfg := fastConfig(ws)
		cfg.Concurrency = 1
		cfg.Middleware = []Middleware{func(ctx context.Context, m *JobMeta, next func(context.Context) error) error {
			cur.Store(&seen{attempt: m.Attempt, mwMeta: maps.Clone(m.Meta), traceContext: bytes.Clone(m.TraceContext)})
			return next(ctx)
		}}
		startServer(t, b, cfg)

		given := map[string]string{"tenant": "acme"}
		ctx := context.WithValue(context.Background(), requestKey{}, "r-42")
		if _, err := client.Enqueue(ctx, metaArgs{N: 7}, &EnqueueOpts{Meta: given}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "two runs", func() bool { return runs.len() >= 2 })
		if !maps.Equal(given, map[string]string{"tenant": "acme"}) {
			t.Fatalf("enqueue middleware changed the caller's map: %v", given)
		}
		want := map[string]string{"tenant": "acme", "request_id": "r-42", "inner": "yes"}
		for _, s := range runs.all() {
			if !maps.Equal(s.meta, want) || !maps.Equal(s.mwMeta, want) || !bytes.Equal(s.traceContext, tc) {
				t.Errorf("attempt %d saw Job.Meta %v, JobMeta.Meta %v, TraceContext %x; want %v and %x", s.attempt, s.meta, s.mwMeta, s.traceContext, want, tc)
			}
		}
	})
}

type requestKey struct{}

// Args' own metadata defaults are merged with the metadata given at
// enqueue, which wins.
func TestMetaMergesArgsDefaults(t *testing.T) {
	b := openBolt(t, backend.Limits{})
	c := NewClient(b, ClientConfig{})
	ctx := context.Background()
	if _, err := c.Enqueue(ctx, metaDefaultsArgs{}, &EnqueueOpts{Meta: map[string]string{"tenant": "acme"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Enqueue(ctx, metaDefaultsArgs{}, nil); err != nil {
		t.Fatal(err)
	}
	jobs := listAll(t, b, backend.JobFilter{Set: backend.SetQueued})
	if len(jobs) != 2 {
		t.Fatalf("%d jobs queued, want 2", len(jobs))
	}
	if want := map[string]string{"team": "billing", "tenant": "acme"}; !maps.Equal(jobs[0].Meta, want) {
		t.Errorf("merged Meta = %v, want %v", jobs[0].Meta, want)
	}
	if want := (metaDefaultsArgs{}).EnqueueOpts().Meta; !maps.Equal(jobs[1].Meta, want) {
		t.Errorf("default Meta = %v, want %v", jobs[1].Meta, want)
	}
}

// Metadata over MaxMetaBytes (given, or added by middleware) is refused at
// enqueue with ErrMetaTooLarge, and nothing of the call is stored; so is a
// job middleware refuses.
func TestMetaTooLarge(t *testing.T) {
	b := openBolt(t, backend.Limits{})
	ctx := context.Background()
	big := map[string]string{"blob": strings.Repeat("x", MaxMetaBytes)}
	atCap := map[string]string{"blob": strings.Repeat("x", MaxMetaBytes-len("blob")-3)} // 1 + 4 + 2 + value
	if n := backend.MetaSize(atCap); n != MaxMetaBytes {
		t.Fatalf("test setup: MetaSize = %d, want %d", n, MaxMetaBytes)
	}
	c := NewClient(b, ClientConfig{})
	if _, err := c.Enqueue(ctx, metaArgs{}, &EnqueueOpts{Meta: atCap}); err != nil {
		t.Fatalf("metadata at the cap: %v", err)
	}
	if _, err := c.Enqueue(ctx, metaArgs{}, &EnqueueOpts{Meta: big}); !errors.Is(err, ErrMetaTooLarge) {
		t.Fatalf("oversized metadata: %v, want ErrMetaTooLarge", err)
	}
	_, err := c.EnqueueMany(ctx, []EnqueueParams{{Args: metaArgs{N: 1}}, {Args: metaArgs{N: 2}, Opts: EnqueueOpts{Meta: big}}})
	if !errors.Is(err, ErrMetaTooLarge) {
		t.Fatalf("EnqueueMany with oversized metadata: %v, want ErrMetaTooLarge", err)
	}

	// Middleware that pushes a job over the cap (the trace context counts).
	mc := NewClient(b, ClientConfig{Middleware: []EnqueueMiddleware{func(ctx context.Context, j *EnqueueJob, next func(context.Context) error) error {
		j.TraceContext = make([]byte, 64)
		return next(ctx)
	}}})
	if _, err := mc.Enqueue(ctx, metaArgs{}, &EnqueueOpts{Meta: atCap}); !errors.Is(err, ErrMetaTooLarge) {
		t.Fatalf("metadata at the cap plus a trace context: %v, want ErrMetaTooLarge", err)
	}

	// Middleware refusing a job.
	errNo := errors.New("no tenant")
	rc := NewClient(b, ClientConfig{Middleware: []EnqueueMiddleware{func(ctx context.Context, j *EnqueueJob, next func(context.Context) error) error {
		if j.Meta["tenant"] == "" {
			return errNo
		}
		return next(ctx)
	}}})
	if _, err := rc.Enqueue(ctx, metaArgs{}, nil); !errors.Is(err, errNo) {
		t.Fatalf("refused job: %v, want the middleware's error", err)
	}

	if jobs := listAll(t, b, backend.JobFilter{Set: backend.SetQueued}); len(jobs) != 1 {
		t.Fatalf("%d jobs stored, want only the one at the cap", len(jobs))
	}
}
