// Command joblot is joblot's command-line tool: a load generator (bench),
// a demo of batches, inspection of a store (stats, queues, batches, the
// scheduled, retry and dead sets) and operations on it (retry and delete
// jobs, pause, resume and clear queues, memory report, cleanup, migrate,
// a Prometheus metrics endpoint).
//
// Every command works on Redis (--redis URL, or JOBLOT_REDIS_URL) or on
// the embedded file store (--db PATH, default ./joblot.db). While another
// process owns the file, commands run through that process's local
// endpoint (backend/remote).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, restore the default handling so that a
		// second Ctrl-C kills a shutdown that takes too long.
		<-ctx.Done()
		stop()
	}()
	code := execute(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
