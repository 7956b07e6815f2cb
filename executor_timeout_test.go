package joblot

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestTimeoutCause: the lazily formatted timeout cause reads and matches
// as the fmt.Errorf it replaces.
func TestTimeoutCause(t *testing.T) {
	d := 1500 * time.Millisecond
	var err error = &timeoutCause{d}
	want := fmt.Errorf("%w after %v", ErrJobTimeout, d)
	if err.Error() != want.Error() || !errors.Is(err, ErrJobTimeout) {
		t.Fatalf("cause %q (is ErrJobTimeout: %v), want %q", err, errors.Is(err, ErrJobTimeout), want)
	}
}

// TestJobContext: the job's context carries its run state under
// jobRunKey, defers every other key, cause and cancellation to its parent,
// and a context derived from it is cancelled with the parent.
func TestJobContext(t *testing.T) {
	type other struct{}
	parent, cancel := context.WithCancelCause(context.WithValue(context.Background(), other{}, "v"))
	run := &jobRun{}
	ctx := context.Context(&jobContext{Context: parent, run: run})
	if got, _ := ctx.Value(jobRunKey{}).(*jobRun); got != run || ctx.Value(other{}) != "v" {
		t.Fatalf("values: run %v, other %v", ctx.Value(jobRunKey{}), ctx.Value(other{}))
	}
	child, stop := context.WithTimeout(ctx, time.Hour)
	defer stop()
	boom := errors.New("boom")
	cancel(boom)
	<-child.Done()
	if !errors.Is(context.Cause(ctx), boom) || !errors.Is(context.Cause(child), boom) {
		t.Fatalf("causes: %v, %v", context.Cause(ctx), context.Cause(child))
	}
}
