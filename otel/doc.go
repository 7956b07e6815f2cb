// Package joblototel traces joblot jobs with OpenTelemetry: a producer span
// for every job enqueued and a consumer span for every attempt, linked
// through W3C trace context that travels with the job.
//
// It lives in its own Go module, github.com/joblot/joblot/otel, so that its
// dependencies reach only the programs that import it.
//
// Wire one Middleware into both sides:
//
//	mw := joblototel.New(joblototel.Config{TracerProvider: tp})
//	client := joblot.NewClient(store, joblot.ClientConfig{
//		Middleware: []joblot.EnqueueMiddleware{mw.Enqueue},
//	})
//	server, err := joblot.NewServer(store, joblot.ServerConfig{
//		Client:     client, // adds from inside jobs are traced too
//		Middleware: []joblot.Middleware{mw.Work},
//		...
//	})
//
// Enqueue starts a span of kind producer ("enqueue <queue>",
// messaging.operation.type "create") in the caller's context and stores its
// trace context with the job (joblot.EnqueueJob.TraceContext, a compact
// binary form of the traceparent and tracestate headers). Work starts a
// span of kind consumer ("process <queue>", messaging.operation.type
// "process") for each attempt, as a child of that producer span, and runs
// the job in its context; every attempt of a job (retries, snoozes, a
// manual retry from the dead set) is a child of the same producer span.
//
// Both spans carry the messaging semantic conventions: messaging.system
// "joblot", messaging.destination.name (the queue),
// messaging.operation.type and messaging.operation.name, and
// messaging.message.id (the job ID; a job added to a batch from inside a
// running job gets its ID only when stored, so its producer span has
// none). joblot adds joblot.job.kind, joblot.attempt (1 for the first run),
// joblot.batch.id and, on a batch callback, joblot.batch.callback (the
// event). An attempt's outcome is in joblot.outcome: succeeded, failed,
// snoozed, discarded, killed, cancelled, timeout, interrupted (a hard stop
// cut it short; it runs again) or panicked. Every outcome but succeeded and
// snoozed records the error on the span (RecordError) and sets its status
// to Error.
//
// A batch callback is built when its batch is created (Client.NewBatch,
// Batch.NewChild), so its producer span is a child of the context of that
// call, and the callback's attempts are children of that span: a callback
// belongs to the trace that created its batch, not to the job whose
// completion fired it.
//
// Metrics are not here: the metrics package of the root module exports
// them (an Observer for the server). Propagators other than the W3C trace
// context (Config.Propagator) carry their other fields, baggage for
// instance, in the job's metadata under the fields' own names.
package joblototel
