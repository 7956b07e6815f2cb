package redis

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// TestOutboxForwardedAfterCrash: callbacks fired by a script whose process
// died before forwarding (with or without recording the outbox in
// jl:outboxes, or after enqueueing but before clearing the outbox) are
// forwarded by ForwardCallbacks, exactly once.
func TestOutboxForwardedAfterCrash(t *testing.T) {
	ctx := context.Background()
	for _, recorded := range []bool{true, false} {
		t.Run("recorded="+strconv.FormatBool(recorded), func(t *testing.T) {
			b, srv := openTest(t)
			id := "b1"
			err := b.CreateBatch(ctx, &backend.BatchSpec{ID: id, Callbacks: map[backend.CallbackEvent]*backend.Job{
				backend.CallbackComplete: {Kind: "done", Queue: "cb"},
				backend.CallbackSuccess:  {Kind: "ok", Queue: "cb"},
			}})
			if err != nil {
				t.Fatal(err)
			}
			// The commit script fires both callbacks (and settled, which
			// has none); the process "dies" before forwarding them.
			args := append([]string{ms(time.Now())}, b.ttlArgs()...)
			status, fired, err := firedReply(b.run(ctx, b.c, call{s: b.s.batchCommit, keys: b.keys.BatchKeys(id), args: args}))
			if err != nil || status != 0 || !slices.Equal(fired, []string{"complete", "settled", "success"}) {
				t.Fatalf("commit script: %d %v %v", status, fired, err)
			}
			if recorded {
				if _, err := srv.Do("SADD", b.keys.Outboxes(), id); err != nil {
					t.Fatal(err)
				}
			}
			n, err := b.ForwardCallbacks(ctx, time.Now())
			if err != nil || n != 2 {
				t.Fatalf("ForwardCallbacks = %d, %v; want 2", n, err)
			}
			// A second forwarder that read the outbox before it was cleared
			// enqueues nothing twice.
			if _, err := srv.Do("RPUSH", b.keys.BOutbox(id), "complete\n"+mustHGet(t, srv.Do, b.keys.BMeta(id), "cb:complete")); err != nil {
				t.Fatal(err)
			}
			if _, err := b.forwardOutbox(ctx, id, time.Now()); err != nil {
				t.Fatal(err)
			}
			if qs := queueStats(mustStats(t, b), "cb"); qs.Size != 2 {
				t.Fatalf("callback queue holds %d jobs, want 2", qs.Size)
			}
			if l, _ := srv.Do("LLEN", b.keys.BOutbox(id)); l != "0" {
				t.Fatalf("outbox still holds %s entries", l)
			}
		})
	}
}

func mustHGet(t *testing.T, do func(...string) (string, error), key, field string) string {
	t.Helper()
	v, err := do("HGET", key, field)
	if err != nil || v == "" {
		t.Fatalf("HGET %s %s: %q, %v", key, field, v, err)
	}
	return v
}
