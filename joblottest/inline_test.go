package joblottest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/joblottest"
)

func TestInlineClient(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("smtp down")
	var sent []string
	workers := joblot.NewWorkers()
	joblot.AddWorker(workers, mailWorker(func(_ context.Context, job *joblot.Job[mailArgs]) error {
		switch job.Args.To {
		case "fail":
			return boom
		case "kill":
			return joblot.JobKill(boom)
		case "discard":
			return joblot.JobDiscard(nil)
		case "panic":
			panic("oops")
		}
		if job.Attempt != 1 {
			t.Errorf("attempt %d, want 1", job.Attempt)
		}
		sent = append(sent, job.Args.To)
		return nil
	}), nil)
	store := joblottest.NewStore(t)
	client := joblottest.NewInlineClient(t, workers, &joblottest.InlineOpts{Store: store})

	if _, err := client.Enqueue(ctx, mailArgs{To: "ada"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Enqueue(ctx, mailArgs{To: "later"}, &joblot.EnqueueOpts{Delay: time.Hour}); err != nil {
		t.Fatal(err)
	}
	if len(sent) != 2 || sent[0] != "ada" || sent[1] != "later" {
		t.Fatalf("sent %q: jobs did not run inside Enqueue", sent)
	}
	// Nothing is stored.
	joblottest.RequireNotEnqueued(t, store, mailArgs{}, &joblottest.RequireOpts{KindOnly: true})

	for to, is := range map[string]error{"fail": boom, "kill": joblot.ErrJobKilled, "discard": joblot.ErrJobDiscarded} {
		if _, err := client.Enqueue(ctx, mailArgs{To: to}, nil); !errors.Is(err, is) {
			t.Errorf("Enqueue(%s) = %v, want %v", to, err, is)
		}
	}
	if _, err := client.Enqueue(ctx, mailArgs{To: "panic"}, nil); err == nil || err.Error() == "" {
		t.Errorf("Enqueue(panic) = %v", err)
	}
	if _, err := client.Enqueue(ctx, resizeArgs{}, nil); !errors.Is(err, joblot.ErrUnknownKind) {
		t.Errorf("Enqueue of an unregistered kind = %v, want ErrUnknownKind", err)
	}
	// EnqueueMany stops at the first failure.
	sent = nil
	_, err := client.EnqueueMany(ctx, []joblot.EnqueueParams{{Args: mailArgs{To: "1"}}, {Args: mailArgs{To: "fail"}}, {Args: mailArgs{To: "3"}}})
	if !errors.Is(err, boom) || len(sent) != 1 {
		t.Fatalf("EnqueueMany = %v, sent %q", err, sent)
	}
	// Batches are stored, not run.
	batch, err := client.NewBatch(ctx, joblot.BatchOpts{})
	if err != nil {
		t.Fatal(err)
	}
	if err := batch.Add(ctx, joblot.EnqueueParams{Args: mailArgs{To: "batched"}}); err != nil {
		t.Fatal(err)
	}
	joblottest.RequireEnqueued(t, store, mailArgs{To: "batched"}, &joblottest.RequireOpts{BatchID: batch.ID()})
}

func TestInlineClientNests(t *testing.T) {
	var client *joblot.Client
	var resized []string
	workers := joblot.NewWorkers()
	joblot.AddWorker(workers, mailWorker(func(ctx context.Context, job *joblot.Job[mailArgs]) error {
		_, err := client.Enqueue(ctx, resizeArgs{Image: job.Args.To}, nil)
		return err
	}), nil)
	joblot.AddWorker(workers, joblot.WorkFunc[resizeArgs](func(_ context.Context, job *joblot.Job[resizeArgs]) error {
		resized = append(resized, job.Args.Image)
		return nil
	}), nil)
	client = joblottest.NewInlineClient(t, workers, nil)
	if _, err := client.Enqueue(context.Background(), mailArgs{To: "x.png"}, nil); err != nil {
		t.Fatal(err)
	}
	if len(resized) != 1 || resized[0] != "x.png" {
		t.Fatalf("resized %q", resized)
	}
}
