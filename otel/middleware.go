package joblototel

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/joblot/joblot"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the tracer the middleware
// uses.
const ScopeName = "github.com/joblot/joblot/otel"

// MessagingSystem is the messaging.system attribute of every span.
const MessagingSystem = "joblot"

// Operation names (messaging.operation.name) of the two spans.
const (
	// OperationEnqueue names the producer span's operation.
	OperationEnqueue = "enqueue"
	// OperationProcess names the consumer span's operation.
	OperationProcess = "process"
)

// Attributes joblot adds to the messaging semantic conventions.
const (
	// AttrJobKind is the job's kind.
	AttrJobKind = attribute.Key("joblot.job.kind")
	// AttrAttempt is the attempt a consumer span runs, 1 for the first.
	AttrAttempt = attribute.Key("joblot.attempt")
	// AttrBatchID is the batch the job belongs to or, on a batch
	// callback, the batch it is the callback of.
	AttrBatchID = attribute.Key("joblot.batch.id")
	// AttrBatchCallback is the batch event a callback job fires on
	// (complete, success, death).
	AttrBatchCallback = attribute.Key("joblot.batch.callback")
	// AttrOutcome is how an attempt ended (the Outcome constants).
	AttrOutcome = attribute.Key("joblot.outcome")
)

// Outcomes of an attempt, the values of AttrOutcome.
const (
	// OutcomeSucceeded: the worker returned nil.
	OutcomeSucceeded = "succeeded"
	// OutcomeFailed: a plain error; the job is retried or dies.
	OutcomeFailed = "failed"
	// OutcomeSnoozed: the worker returned joblot.JobSnooze; not an error.
	OutcomeSnoozed = "snoozed"
	// OutcomeDiscarded: the worker returned joblot.JobDiscard.
	OutcomeDiscarded = "discarded"
	// OutcomeKilled: the worker returned joblot.JobKill; the job goes to
	// the dead set.
	OutcomeKilled = "killed"
	// OutcomeCancelled: the job was cancelled (Client.CancelJob) while it
	// ran.
	OutcomeCancelled = "cancelled"
	// OutcomeTimeout: the attempt ran past its timeout.
	OutcomeTimeout = "timeout"
	// OutcomeInterrupted: the server stopped hard while the attempt ran;
	// the job goes back to its queue and runs again.
	OutcomeInterrupted = "interrupted"
	// OutcomePanicked: the worker panicked.
	OutcomePanicked = "panicked"
)

// MaxErrorBytes bounds the error message a span records (the exception
// event and the status description): a job's error can be as long as its
// worker makes it. A longer message is cut at a character boundary.
const MaxErrorBytes = 2048

// Config configures a Middleware. The zero value uses the global tracer
// provider and the W3C trace context.
type Config struct {
	// TracerProvider creates the spans; default otel.GetTracerProvider().
	TracerProvider trace.TracerProvider
	// Propagator carries the trace context from enqueue to the attempts;
	// default propagation.TraceContext{}. Its traceparent and tracestate
	// fields travel in the job's trace context, any other field in the
	// job's metadata (counted against joblot.MaxMetaBytes).
	Propagator propagation.TextMapPropagator
}

// Middleware traces enqueues (Enqueue, a joblot.EnqueueMiddleware) and
// attempts (Work, a joblot.Middleware). It is safe for concurrent use.
type Middleware struct {
	tracer     trace.Tracer
	propagator propagation.TextMapPropagator
}

// New returns a Middleware configured by cfg.
func New(cfg Config) *Middleware {
	tp := cfg.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	prop := cfg.Propagator
	if prop == nil {
		prop = propagation.TraceContext{}
	}
	return &Middleware{
		tracer:     tp.Tracer(ScopeName, trace.WithSchemaURL(semconv.SchemaURL)),
		propagator: prop,
	}
}

// Enqueue is enqueue middleware (joblot.ClientConfig.Middleware): it starts
// a producer span in the caller's context, stores the span's trace context
// with the job, and records the error if an inner middleware refuses the
// job. The span covers the building of the job, which is stored after the
// middleware returns (messaging.operation.type "create").
func (m *Middleware) Enqueue(ctx context.Context, job *joblot.EnqueueJob, next func(context.Context) error) error {
	attrs := []attribute.KeyValue{
		semconv.MessagingSystemKey.String(MessagingSystem),
		semconv.MessagingDestinationName(job.Queue),
		semconv.MessagingOperationTypeCreate,
		semconv.MessagingOperationName(OperationEnqueue),
		AttrJobKind.String(job.Kind),
	}
	if job.ID != "" {
		attrs = append(attrs, semconv.MessagingMessageID(job.ID))
	}
	attrs = appendBatch(attrs, job.BatchID, job.CallbackOf, string(job.CallbackEvent))
	ctx, span := m.tracer.Start(ctx, OperationEnqueue+" "+job.Queue,
		trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(attrs...))
	defer span.End()

	c := &carrier{meta: job.Meta, setMeta: job.SetMeta}
	m.propagator.Inject(ctx, c)
	job.TraceContext = c.traceContext()

	err := next(ctx)
	if err != nil {
		recordError(span, err)
	}
	return err
}

// Work is worker middleware (joblot.ServerConfig.Middleware): it starts a
// consumer span for the attempt, a child of the job's producer span when
// the job carries its trace context, runs the job in the span's context,
// and records how the attempt ended (AttrOutcome; the error and status
// Error for every outcome but succeeded and snoozed). Put it first in the
// middleware list so that the span covers the others.
func (m *Middleware) Work(ctx context.Context, job *joblot.JobMeta, next func(context.Context) error) (err error) {
	if job.TraceContext != nil || len(job.Meta) > 0 {
		ctx = m.propagator.Extract(ctx, readCarrier(job.TraceContext, job.Meta))
	}
	attrs := []attribute.KeyValue{
		semconv.MessagingSystemKey.String(MessagingSystem),
		semconv.MessagingDestinationName(job.Queue),
		semconv.MessagingOperationTypeProcess,
		semconv.MessagingOperationName(OperationProcess),
		semconv.MessagingMessageID(job.ID),
		AttrJobKind.String(job.Kind),
		AttrAttempt.Int(job.Attempt),
	}
	attrs = appendBatch(attrs, job.BatchID, job.CallbackOf, string(job.CallbackEvent))
	ctx, span := m.tracer.Start(ctx, OperationProcess+" "+job.Queue,
		trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...))
	defer span.End()
	defer func() {
		// The server recovers the panic; the span must still end and say so.
		if r := recover(); r != nil {
			endAttempt(span, OutcomePanicked, fmt.Errorf("panic: %v", r))
			panic(r)
		}
	}()

	err = next(ctx)
	endAttempt(span, outcome(ctx, err), err)
	return err
}

// appendBatch adds the batch attributes of a job: its batch, or the batch
// a callback belongs to and its event.
func appendBatch(attrs []attribute.KeyValue, batchID, callbackOf, event string) []attribute.KeyValue {
	switch {
	case batchID != "":
		attrs = append(attrs, AttrBatchID.String(batchID))
	case callbackOf != "":
		attrs = append(attrs, AttrBatchID.String(callbackOf), AttrBatchCallback.String(event))
	}
	return attrs
}

// outcome classifies how an attempt run with ctx ended with err, the way
// the server will treat it.
func outcome(ctx context.Context, err error) string {
	switch {
	case err == nil:
		return OutcomeSucceeded
	case errors.Is(context.Cause(ctx), joblot.ErrJobCancelled):
		return OutcomeCancelled // whatever it returned: the server does the same
	case errors.Is(err, joblot.ErrJobSnoozed):
		return OutcomeSnoozed
	case errors.Is(err, joblot.ErrJobDiscarded):
		return OutcomeDiscarded
	case errors.Is(err, joblot.ErrJobKilled):
		return OutcomeKilled
	case errors.Is(context.Cause(ctx), joblot.ErrJobTimeout) || errors.Is(err, joblot.ErrJobTimeout):
		return OutcomeTimeout
	case ctx.Err() != nil:
		return OutcomeInterrupted
	}
	return OutcomeFailed
}

// endAttempt records an attempt's outcome on its span.
func endAttempt(span trace.Span, outcome string, err error) {
	span.SetAttributes(AttrOutcome.String(outcome))
	if err == nil || outcome == OutcomeSnoozed {
		return
	}
	span.SetAttributes(semconv.ErrorTypeKey.String(outcome))
	recordError(span, err)
}

// recordError records err on span and sets its status to Error, with the
// message cut to MaxErrorBytes.
func recordError(span trace.Span, err error) {
	msg := err.Error()
	if len(msg) > MaxErrorBytes {
		msg = truncate(msg, MaxErrorBytes)
		err = &truncatedError{msg: msg, err: err}
	}
	span.RecordError(err)
	span.SetStatus(codes.Error, msg)
}

// truncatedError is an error whose message was cut to MaxErrorBytes.
type truncatedError struct {
	msg string
	err error
}

func (e *truncatedError) Error() string { return e.msg }
func (e *truncatedError) Unwrap() error { return e.err }

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
