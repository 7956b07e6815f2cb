package joblototel_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
	joblototel "github.com/joblot/joblot/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// imageArgs is the job of these tests; Fail fails its first attempt.
type imageArgs struct {
	Fail bool `json:"fail"`
}

func (imageArgs) Kind() string { return "image" }

// attr returns a span's attribute, or an invalid value if absent.
func attr(s tracetest.SpanStub, key attribute.Key) attribute.Value {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return kv.Value
		}
	}
	return attribute.Value{}
}

// find returns the spans of kind whose attribute key has value.
func find(spans tracetest.SpanStubs, kind trace.SpanKind, key attribute.Key, value string) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range spans {
		if s.SpanKind == kind && attr(s, key).Emit() == value {
			out = append(out, s)
		}
	}
	return out
}

// byName returns the spans named name.
func byName(spans tracetest.SpanStubs, name string) []tracetest.SpanStub {
	var out []tracetest.SpanStub
	for _, s := range spans {
		if s.Name == name {
			out = append(out, s)
		}
	}
	return out
}

// wantChild fails unless child's parent is parent, in the same trace.
func wantChild(t *testing.T, child, parent tracetest.SpanStub) {
	t.Helper()
	if child.Parent.SpanID() != parent.SpanContext.SpanID() || child.SpanContext.TraceID() != parent.SpanContext.TraceID() {
		t.Fatalf("span %q (trace %s, parent %s) is not a child of %q (trace %s, span %s)",
			child.Name, child.SpanContext.TraceID(), child.Parent.SpanID(),
			parent.Name, parent.SpanContext.TraceID(), parent.SpanContext.SpanID())
	}
	if !child.Parent.IsRemote() && child.SpanKind == trace.SpanKindConsumer {
		t.Fatalf("consumer span %q has a local parent: its context did not travel with the job", child.Name)
	}
}

// wantAttrs fails unless s carries every attribute of want.
func wantAttrs(t *testing.T, s tracetest.SpanStub, want ...attribute.KeyValue) {
	t.Helper()
	for _, kv := range want {
		if got := attr(s, kv.Key); got != kv.Value {
			t.Fatalf("span %q: %s = %q, want %q", s.Name, kv.Key, got.Emit(), kv.Value.Emit())
		}
	}
}

// A job enqueued inside a span gets a producer span that is its child, and
// each attempt a consumer span that is the producer's child, through a real
// store; the failed attempt records its error.
func TestEnqueueToAttempts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		tp, exp := newTracing(t)
		mw := joblototel.New(joblototel.Config{TracerProvider: tp})
		client := joblot.NewClient(b, joblot.ClientConfig{Middleware: []joblot.EnqueueMiddleware{mw.Enqueue}})
		workers := joblot.NewWorkers()
		joblot.AddWorker(workers, joblot.WorkFunc[imageArgs](func(ctx context.Context, job *joblot.Job[imageArgs]) error {
			if !trace.SpanContextFromContext(ctx).IsValid() {
				return joblot.JobKill(errors.New("the worker's context has no span"))
			}
			if job.Args.Fail && job.Attempt == 1 {
				return errors.New("storage busy")
			}
			return nil
		}), &joblot.WorkerOpts{RetryPolicy: joblot.ConstantBackoff(time.Millisecond)})

		ctx, request := tp.Tracer("test").Start(context.Background(), "request")
		res, err := client.Enqueue(ctx, imageArgs{Fail: true}, &joblot.EnqueueOpts{Queue: "images"})
		request.End()
		if err != nil {
			t.Fatal(err)
		}
		startServer(t, b, joblot.ServerConfig{
			Workers: workers, Queues: map[string]int{"images": 1},
			Middleware: []joblot.Middleware{mw.Work},
		})
		spans := waitSpans(t, exp, "two attempts", func(s tracetest.SpanStubs) bool {
			return len(find(s, trace.SpanKindConsumer, joblototel.AttrOutcome, joblototel.OutcomeSucceeded)) == 1
		})

		reqs := byName(spans, "request")
		producers := find(spans, trace.SpanKindProducer, "messaging.message.id", res.ID)
		if len(reqs) != 1 || len(producers) != 1 {
			t.Fatalf("want one request and one producer span, got %s", names(spans))
		}
		producer := producers[0]
		wantChild(t, producer, reqs[0])
		wantAttrs(t, producer,
			attribute.String("messaging.system", "joblot"),
			attribute.String("messaging.destination.name", "images"),
			attribute.String("messaging.operation.type", "create"),
			attribute.String("messaging.operation.name", "enqueue"),
			attribute.String("joblot.job.kind", "image"))
		if producer.Name != "enqueue images" {
			t.Fatalf("producer span named %q", producer.Name)
		}

		for attempt, outcome := range map[int]string{1: joblototel.OutcomeFailed, 2: joblototel.OutcomeSucceeded} {
			got := find(spans, trace.SpanKindConsumer, joblototel.AttrAttempt, attribute.IntValue(attempt).Emit())
			if len(got) != 1 {
				t.Fatalf("attempt %d: %d consumer spans, want 1 (spans %s)", attempt, len(got), names(spans))
			}
			s := got[0]
			wantChild(t, s, producer)
			wantAttrs(t, s,
				attribute.String("messaging.system", "joblot"),
				attribute.String("messaging.destination.name", "images"),
				attribute.String("messaging.operation.type", "process"),
				attribute.String("messaging.operation.name", "process"),
				attribute.String("messaging.message.id", res.ID),
				attribute.String("joblot.job.kind", "image"),
				joblototel.AttrOutcome.String(outcome))
			if s.Name != "process images" {
				t.Fatalf("consumer span named %q", s.Name)
			}
			failed := outcome == joblototel.OutcomeFailed
			if (s.Status.Code == codes.Error) != failed || (len(s.Events) == 1) != failed {
				t.Fatalf("attempt %d (%s): status %v, events %v", attempt, outcome, s.Status, s.Events)
			}
			if failed && (s.Status.Description != "storage busy" || s.Events[0].Name != "exception") {
				t.Fatalf("attempt %d: status %v, events %v; want the error recorded", attempt, s.Status, s.Events)
			}
		}
	})
}

// A batch member's producer span is a child of the context that added it;
// the batch's callback is built when the batch is created, so its producer
// span is a child of the context that created the batch, and its attempt a
// child of that producer span, not of the member whose success fired it.
func TestBatchCallbackParent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		tp, exp := newTracing(t)
		mw := joblototel.New(joblototel.Config{TracerProvider: tp})
		client := joblot.NewClient(b, joblot.ClientConfig{Middleware: []joblot.EnqueueMiddleware{mw.Enqueue}})
		workers := joblot.NewWorkers()
		joblot.AddWorker(workers, joblot.WorkFunc[imageArgs](func(context.Context, *joblot.Job[imageArgs]) error { return nil }), nil)
		tracer := tp.Tracer("test")

		createCtx, create := tracer.Start(context.Background(), "create batch")
		batch, err := client.NewBatch(createCtx, joblot.BatchOpts{
			OnSuccess: &joblot.Callback{Args: imageArgs{}, Opts: joblot.EnqueueOpts{Queue: "callbacks"}},
		})
		create.End()
		if err != nil {
			t.Fatal(err)
		}
		addCtx, add := tracer.Start(context.Background(), "add to batch")
		err = batch.Add(addCtx, joblot.EnqueueParams{Args: imageArgs{}, Opts: joblot.EnqueueOpts{Queue: "images"}})
		add.End()
		if err != nil {
			t.Fatal(err)
		}
		if err := batch.Commit(context.Background()); err != nil {
			t.Fatal(err)
		}
		startServer(t, b, joblot.ServerConfig{
			Workers: workers, Queues: map[string]int{"images": 1, "callbacks": 1},
			Middleware: []joblot.Middleware{mw.Work},
		})
		spans := waitSpans(t, exp, "the callback's attempt", func(s tracetest.SpanStubs) bool {
			return len(find(s, trace.SpanKindConsumer, joblototel.AttrBatchCallback, "success")) == 1
		})

		one := func(what string, got []tracetest.SpanStub) tracetest.SpanStub {
			t.Helper()
			if len(got) != 1 {
				t.Fatalf("%s: %d spans, want 1 (spans %s)", what, len(got), names(spans))
			}
			return got[0]
		}
		root := func(name string) tracetest.SpanStub { return one(name, byName(spans, name)) }
		cbProducer := one("callback producer", find(spans, trace.SpanKindProducer, joblototel.AttrBatchCallback, "success"))
		cbConsumer := one("callback consumer", find(spans, trace.SpanKindConsumer, joblototel.AttrBatchCallback, "success"))
		wantChild(t, cbProducer, root("create batch"))
		wantChild(t, cbConsumer, cbProducer)
		wantAttrs(t, cbConsumer,
			joblototel.AttrBatchID.String(batch.ID()),
			attribute.String("messaging.message.id", backend.CallbackJobID(batch.ID(), backend.CallbackSuccess)),
			attribute.String("messaging.destination.name", "callbacks"))

		memberProducer := one("member producer", find(spans, trace.SpanKindProducer, "messaging.destination.name", "images"))
		memberConsumer := one("member consumer", find(spans, trace.SpanKindConsumer, "messaging.destination.name", "images"))
		wantChild(t, memberProducer, root("add to batch"))
		wantChild(t, memberConsumer, memberProducer)
		wantAttrs(t, memberConsumer, joblototel.AttrBatchID.String(batch.ID()), joblototel.AttrAttempt.Int(1))
		if attr(memberConsumer, joblototel.AttrBatchCallback).Type() != attribute.INVALID {
			t.Fatalf("member's span carries %s", joblototel.AttrBatchCallback)
		}
	})
}

// A job enqueued from inside a running job continues the trace: its
// producer span is a child of the running attempt's consumer span. A job
// added to the batch from inside a job has no ID on its producer span (it
// gets one derived from the running job when stored), and its attempt is
// still that span's child.
func TestEnqueueFromJob(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend.Backend) {
		tp, exp := newTracing(t)
		mw := joblototel.New(joblototel.Config{TracerProvider: tp})
		client := joblot.NewClient(b, joblot.ClientConfig{Middleware: []joblot.EnqueueMiddleware{mw.Enqueue}})
		workers := joblot.NewWorkers()
		joblot.AddWorker(workers, joblot.WorkFunc[imageArgs](func(ctx context.Context, job *joblot.Job[imageArgs]) error {
			if job.Queue != "first" {
				return nil
			}
			if _, err := client.Enqueue(ctx, imageArgs{}, &joblot.EnqueueOpts{Queue: "second"}); err != nil {
				return err
			}
			batch, err := joblot.BatchFromContext(ctx)
			if err != nil {
				return err
			}
			return batch.Add(ctx, joblot.EnqueueParams{Args: imageArgs{}, Opts: joblot.EnqueueOpts{Queue: "third"}})
		}), nil)
		batch, err := client.NewBatch(context.Background(), joblot.BatchOpts{})
		if err != nil {
			t.Fatal(err)
		}
		if err := batch.Add(context.Background(), joblot.EnqueueParams{Args: imageArgs{}, Opts: joblot.EnqueueOpts{Queue: "first"}}); err != nil {
			t.Fatal(err)
		}
		if err := batch.Commit(context.Background()); err != nil {
			t.Fatal(err)
		}
		startServer(t, b, joblot.ServerConfig{
			Workers: workers, Queues: map[string]int{"first": 1, "second": 1, "third": 1},
			Client: client, Middleware: []joblot.Middleware{mw.Work},
		})
		spans := waitSpans(t, exp, "three attempts", func(s tracetest.SpanStubs) bool {
			return len(find(s, trace.SpanKindConsumer, joblototel.AttrOutcome, joblototel.OutcomeSucceeded)) == 3
		})
		one := func(name string) tracetest.SpanStub {
			t.Helper()
			got := byName(spans, name)
			if len(got) != 1 {
				t.Fatalf("%d spans %q, want 1 (spans %s)", len(got), name, names(spans))
			}
			return got[0]
		}
		first := one("process first")
		wantChild(t, one("enqueue second"), first)
		wantChild(t, one("process second"), one("enqueue second"))
		third := one("enqueue third")
		wantChild(t, third, first)
		wantChild(t, one("process third"), third)
		wantAttrs(t, third, joblototel.AttrBatchID.String(batch.ID()))
		if id := attr(third, "messaging.message.id"); id.Type() != attribute.INVALID {
			t.Fatalf("producer span of an add from inside a job names message %q", id.Emit())
		}
		if id := attr(one("process third"), "messaging.message.id").Emit(); id == "" {
			t.Fatal("the added job's attempt names no message")
		}
	})
}
