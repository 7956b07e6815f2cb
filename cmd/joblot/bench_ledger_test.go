package main

import (
	"context"
	"strings"
	"testing"

	"github.com/joblot/joblot/internal/benchrun"
)

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestBenchEnqueueWorkVerify(t *testing.T) {
	for name, store := range stores(t) {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if res := decode(t, mustRun(t, args(store, "bench", "enqueue", "--jobs", "1000", "--ledger", dir, "--json")...)); num(t, res, "jobs") != 1000 || num(t, res, "enqueue_per_sec") <= 0 {
				t.Errorf("bench enqueue --json: %v", res)
			}

			// Nothing ran yet: verify reports every job lost and fails.
			r := runCmd(t, nil, "bench", "verify", "--ledger", dir, "--json")
			if r.code != 1 {
				t.Fatalf("verify before any work: exit %d, want 1\n%s%s", r.code, r.stdout, r.stderr)
			}
			if got := num(t, decode(t, r.stdout), "lost"); got != 1000 {
				t.Fatalf("lost = %v before any work, want 1000", got)
			}

			// A second enqueue into the same ledger would reuse job numbers.
			if r := runCmd(t, nil, args(store, "bench", "enqueue", "--jobs", "5", "--ledger", dir)...); r.code == 0 {
				t.Fatalf("second enqueue into one ledger accepted")
			}

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan result, 1)
			go func() { done <- runCmdCtx(ctx, nil, args(store, "bench", "work", "--ledger", dir)...) }()
			eventually(t, "bench work to run every job", func() bool {
				v, err := benchrun.Verify(dir)
				if err != nil {
					t.Fatal(err)
				}
				return v.Lost == 0
			})
			cancel() // what SIGINT/SIGTERM does: a graceful stop
			if r := recvWithin(t, "bench work to stop after its context was cancelled", done); r.code != 0 {
				t.Fatalf("bench work: exit %d\n%s", r.code, r.stderr)
			}

			m := decode(t, mustRun(t, "bench", "verify", "--ledger", dir, "--json"))
			if num(t, m, "lost") != 0 || num(t, m, "ran") != 1000 || num(t, m, "duplicates") != 0 {
				t.Errorf("verify = %v, want 1000 ran, 0 lost, 0 duplicates", m)
			}
		})
	}
}
