// Command joblot is joblot's command-line tool: a load generator (bench),
// a demo of batches, and inspection of a store (stats, queues, batches).
//
// Every command works on Redis (--redis URL, or JOBLOT_REDIS_URL) or on
// the embedded file store (--db PATH, default ./joblot.db).
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
