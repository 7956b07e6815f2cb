package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/joblot/joblot/backend"
)

// app is what every command shares: its output streams, its environment
// and the store flags.
type app struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	store          storeFlags
	logLevel       string
	cpuProfile     string
	allocProfile   string
}

// exitError ends the program with a code after the command has printed its
// own output (e.g. `bench verify` finding lost jobs).
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// execute runs the joblot command line and returns the exit code.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) int {
	a := &app{stdout: stdout, stderr: stderr, getenv: getenv}
	a.store.warn = stderr
	root := newRootCmd(a)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(stderr, "joblot:", cellN(ee.msg, maxErrorRunes))
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "joblot:", cellN(err.Error(), maxErrorRunes))
	return 1
}

func newRootCmd(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "joblot",
		Short: "Background jobs and batches for Go, on Redis or an embedded file",
		Long: `joblot runs background jobs and batches for Go programs.

Every command works on Redis (--redis URL, --redis-url-file PATH, or the
JOBLOT_REDIS_URL environment variable) or, when no Redis is configured, on
the embedded file store (--db PATH, default ./joblot.db). A Redis that is
configured but unreachable is an error: joblot never falls back to the file.

Applications that share one Redis or Cluster each keep their keys under
their own prefix (default jl): --prefix NAME, or ?prefix=NAME in the URL,
chooses the application every command works on; memory and cleanup then
report and clean that prefix's keys only.

A Redis password given in --redis shows in ps and in shell history: set
JOBLOT_REDIS_URL or use --redis-url-file (mode 600) instead.

` + jsonHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	a.store.register(root.PersistentFlags())
	root.PersistentFlags().StringVar(&a.logLevel, "log-level", "warn", "log level on stderr: debug, info, warn, error")
	root.PersistentFlags().StringVar(&a.cpuProfile, "cpuprofile", "", "write a CPU profile of the command to this file (go tool pprof)")
	root.PersistentFlags().StringVar(&a.allocProfile, "allocprofile", "", "write an allocation profile of the command to this file (go tool pprof -sample_index=alloc_space)")
	var stopProfile func()
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		var err error
		stopProfile, err = startProfiles(a.cpuProfile, a.allocProfile)
		return err
	}
	root.PersistentPostRun = func(*cobra.Command, []string) { stopProfile() }
	root.AddCommand(
		newBenchCmd(a),
		newChaosCmd(a),
		newDemoCmd(a),
		newBatchCmd(a),
		newStatsCmd(a),
		newQueuesCmd(a),
		newLimitsCmd(a),
		newPeriodicCmd(a),
		newJobSetCmd(a, "scheduled", backend.SetScheduled, "List, run now or delete scheduled jobs"),
		newJobSetCmd(a, "retries", backend.SetRetry, "List, retry now or delete jobs waiting to retry"),
		newJobSetCmd(a, "dead", backend.SetDead, "List, retry or delete dead jobs"),
		newErrorsCmd(a),
		newMemoryCmd(a),
		newCleanupCmd(a),
		newMigrateCmd(a),
		newMetricsCmd(a),
		newQueueCmd(a),
		newProcessCmd(a),
		newHealthCmd(a),
		newJobCmd(a),
		newWebCmd(a),
	)
	return root
}

// logger returns the logger commands give the server and the backends.
func (a *app) logger() *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(a.logLevel)); err != nil {
		level = slog.LevelWarn
	}
	return slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
}
