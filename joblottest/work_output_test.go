package joblottest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/joblottest"
)

// Work returns what a succeeded attempt recorded, and nothing for a
// failed one.
func TestWorkOutput(t *testing.T) {
	ctx := context.Background()
	res := joblottest.Work(ctx, t, mailWorker(func(ctx context.Context, _ *joblot.Job[mailArgs]) error {
		if err := joblot.SetProgress(ctx, 100, "sent"); err != nil {
			return err
		}
		return joblot.SetOutput(ctx, map[string]string{"message_id": "m-1"})
	}), mailArgs{To: "a@example.com"}, nil)
	if res.Err != nil || res.Output == nil || string(res.Output.Output) != `{"message_id":"m-1"}` || res.Output.Note != "sent" {
		t.Fatalf("success: %v, output %+v", res.Err, res.Output)
	}
	res = joblottest.Work(ctx, t, mailWorker(func(ctx context.Context, _ *joblot.Job[mailArgs]) error {
		if err := joblot.SetOutput(ctx, "partial"); err != nil {
			return err
		}
		return errors.New("smtp down")
	}), mailArgs{To: "a@example.com"}, nil)
	if res.Output != nil {
		t.Fatalf("a failed attempt returns output %+v", res.Output)
	}
}
