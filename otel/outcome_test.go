package joblototel_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/joblot/joblot"
	joblototel "github.com/joblot/joblot/otel"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// Each way an attempt can end is a distinct joblot.outcome; every one but
// success and a snooze records its error and sets status Error.
func TestAttemptOutcomes(t *testing.T) {
	failure := errors.New("boom")
	cancelled := func() context.Context {
		ctx, cancel := context.WithCancelCause(context.Background())
		cancel(joblot.ErrJobCancelled)
		return ctx
	}
	timedOut := func() context.Context {
		ctx, cancel := context.WithTimeoutCause(context.Background(), -time.Hour, fmt.Errorf("%w after 1s", joblot.ErrJobTimeout))
		_ = cancel // the context is done already; cancelling changes nothing
		return ctx
	}
	stopped := func() context.Context {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		return ctx
	}
	for _, tc := range []struct {
		outcome string
		ctx     func() context.Context
		err     error
		isError bool
	}{
		{joblototel.OutcomeSucceeded, context.Background, nil, false},
		{joblototel.OutcomeFailed, context.Background, failure, true},
		{joblototel.OutcomeSnoozed, context.Background, fmt.Errorf("later: %w", joblot.JobSnooze(time.Minute)), false},
		{joblototel.OutcomeDiscarded, context.Background, joblot.JobDiscard(failure), true},
		{joblototel.OutcomeKilled, context.Background, joblot.JobKill(failure), true},
		{joblototel.OutcomeCancelled, cancelled, context.Canceled, true},
		{joblototel.OutcomeTimeout, timedOut, context.DeadlineExceeded, true},
		{joblototel.OutcomeInterrupted, stopped, context.Canceled, true},
	} {
		t.Run(tc.outcome, func(t *testing.T) {
			tp, exp := newTracing(t)
			mw := joblototel.New(joblototel.Config{TracerProvider: tp})
			err := mw.Work(tc.ctx(), &joblot.JobMeta{ID: "j1", Kind: "image", Queue: "images", Attempt: 3},
				func(context.Context) error { return tc.err })
			if err != tc.err {
				t.Fatalf("Work returned %v, want the job's %v", err, tc.err)
			}
			s := only(t, exp)
			wantAttrs(t, s, joblototel.AttrOutcome.String(tc.outcome), joblototel.AttrAttempt.Int(3))
			if (s.Status.Code == codes.Error) != tc.isError || (len(s.Events) == 1) != tc.isError {
				t.Fatalf("status %v, events %v; want an error recorded: %t", s.Status, s.Events, tc.isError)
			}
		})
	}
}

// A panic ends the span with outcome panicked and goes on to the server,
// which recovers it.
func TestAttemptPanic(t *testing.T) {
	tp, exp := newTracing(t)
	mw := joblototel.New(joblototel.Config{TracerProvider: tp})
	func() {
		defer func() {
			if r := recover(); r != "bad input" {
				t.Fatalf("recovered %v, want the worker's panic", r)
			}
		}()
		_ = mw.Work(context.Background(), &joblot.JobMeta{ID: "j1", Queue: "q", Attempt: 1},
			func(context.Context) error { panic("bad input") })
	}()
	s := only(t, exp)
	wantAttrs(t, s, joblototel.AttrOutcome.String(joblototel.OutcomePanicked))
	if s.Status.Code != codes.Error || s.Status.Description != "panic: bad input" {
		t.Fatalf("status %v", s.Status)
	}
}

// An error message longer than MaxErrorBytes is cut on the span; the job's
// error itself is untouched.
func TestLongErrorBounded(t *testing.T) {
	tp, exp := newTracing(t)
	mw := joblototel.New(joblototel.Config{TracerProvider: tp})
	long := errors.New(strings.Repeat("x", 10*joblototel.MaxErrorBytes))
	if err := mw.Work(context.Background(), &joblot.JobMeta{ID: "j1", Queue: "q", Attempt: 1},
		func(context.Context) error { return long }); err != long {
		t.Fatalf("Work returned %v", err)
	}
	s := only(t, exp)
	if len(s.Status.Description) != joblototel.MaxErrorBytes {
		t.Fatalf("status description of %d bytes, want %d", len(s.Status.Description), joblototel.MaxErrorBytes)
	}
	for _, kv := range s.Events[0].Attributes {
		if kv.Key == "exception.message" && len(kv.Value.AsString()) != joblototel.MaxErrorBytes {
			t.Fatalf("exception.message of %d bytes, want %d", len(kv.Value.AsString()), joblototel.MaxErrorBytes)
		}
	}
}

// An enqueue that an inner middleware refuses records the refusal.
func TestEnqueueRefused(t *testing.T) {
	tp, exp := newTracing(t)
	mw := joblototel.New(joblototel.Config{TracerProvider: tp})
	refused := errors.New("tenant over quota")
	job := &joblot.EnqueueJob{Kind: "image", Queue: "images", ID: "j1"}
	if err := mw.Enqueue(context.Background(), job, func(context.Context) error { return refused }); err != refused {
		t.Fatalf("Enqueue returned %v", err)
	}
	s := only(t, exp)
	if s.Status.Code != codes.Error || len(s.Events) != 1 || len(job.TraceContext) != 26 {
		t.Fatalf("status %v, events %v, trace context %x", s.Status, s.Events, job.TraceContext)
	}
}

// only returns the one span exported so far.
func only(t *testing.T, exp *tracetest.InMemoryExporter) tracetest.SpanStub {
	t.Helper()
	spans := exp.GetSpans()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1: %s", len(spans), names(spans))
	}
	return spans[0]
}
