package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/cleanup"
	"github.com/joblot/joblot/internal/memreport"
)

// cleanupFlags choose cleanup's targets and pace.
type cleanupFlags struct {
	apply, failinfo, batches, processes, dead bool
	rate                                      int
	deadMaxJobs                               int64
	deadMaxAge                                time.Duration
	asJSON                                    bool
	outputs                                   bool
}

// options turns the flags into cleanup options, refusing incoherent ones.
func (f *cleanupFlags) options() (cleanup.Options, error) {
	o := cleanup.Options{Apply: f.apply, Rate: f.rate, DeadMaxJobs: f.deadMaxJobs, DeadMaxAge: f.deadMaxAge}
	if f.failinfo {
		o.Targets = append(o.Targets, cleanup.SidekiqFailinfo)
	}
	if f.batches {
		o.Targets = append(o.Targets, cleanup.Batches)
	}
	if f.processes {
		o.Targets = append(o.Targets, cleanup.Processes)
	}
	if f.dead {
		o.Targets = append(o.Targets, cleanup.DeadJobs)
	}
	if f.outputs {
		o.Targets = append(o.Targets, cleanup.JobOutputs)
	}
	switch {
	case len(o.Targets) == 0:
		return o, errors.New("choose what to clean: --legacy-sidekiq-failinfo, --batches, --processes, --dead (with --dead-max-jobs and/or --dead-max-age), --job-outputs")
	case f.rate < 0:
		return o, fmt.Errorf("--rate must be positive, got %d", f.rate)
	case f.deadMaxJobs < 0 || f.deadMaxAge < 0:
		return o, errors.New("--dead-max-jobs and --dead-max-age must not be negative")
	case f.dead && f.deadMaxJobs == 0 && f.deadMaxAge == 0:
		return o, errors.New("--dead needs a cap: --dead-max-jobs N (per queue) and/or --dead-max-age DURATION")
	case !f.dead && (f.deadMaxJobs != 0 || f.deadMaxAge != 0):
		return o, errors.New("--dead-max-jobs and --dead-max-age apply to --dead: add --dead")
	}
	return o, nil
}

// joblotTargets reports whether o touches joblot's own keys (whose layout
// must be one this joblot knows).
func joblotTargets(o cleanup.Options) bool {
	for _, t := range o.Targets {
		if t != cleanup.SidekiqFailinfo {
			return true
		}
	}
	return false
}

func newCleanupCmd(a *app) *cobra.Command {
	var f cleanupFlags
	cmd := &cobra.Command{
		Use:   "cleanup",
		Short: "Remove data Redis no longer needs (dry run unless --apply)",
		Long: `Remove data Redis no longer needs, family by family:

  --legacy-sidekiq-failinfo  Sidekiq Pro b-<bid>-failinfo hashes (one entry
                             per failed job, kept for weeks)
  --batches                  joblot batch keys of batches that are gone or
                             finished long ago with no TTL left
  --processes                info hashes of joblot processes that are gone
                             (in-flight jobs are never removed, only reported)
  --dead                     dead jobs beyond --dead-max-jobs per queue or
                             older than --dead-max-age

Without --apply it is a dry run: it prints what would be removed (keys,
bytes) and writes nothing. With --apply it removes with UNLINK in small
chunks at no more than --rate keys (or dead jobs) per second. No key
outside the chosen families is touched. Interrupted (Ctrl-C), it prints
what it did so far; running it again resumes.

Works on any Redis, a legacy Sidekiq one included, whatever its
maxmemory-policy. Redis only: the embedded store expires batches and
trims dead jobs by itself.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := f.options()
			if err != nil {
				return err
			}
			c, err := a.store.choose(a.getenv)
			if err != nil {
				return err
			}
			if c.redisURL == "" {
				return errors.New("cleanup works on Redis (--redis URL or $" + redisURLEnv + "); the embedded store expires finished batches and trims dead jobs by itself")
			}
			if opts.Keys, err = c.keys(); err != nil {
				return err
			}
			rc, err := c.redisClient()
			if err != nil {
				return err
			}
			defer rc.Close()
			ctx := cmd.Context()
			if joblotTargets(opts) {
				if err := redis.CheckVersion(ctx, rc, opts.Keys.Prefix()); err != nil { // cleaning an unknown layout could remove live data
					return err
				}
			}
			verb := "found"
			if opts.Apply {
				verb = "removed"
			}
			b := newUnitBar(a.stdout, !f.asJSON, -1, "scanning", "keys")
			opts.Progress = func(p cleanup.Progress) {
				b.SetTotal(p.DBSize)
				b.Set(p.Scanned)
				b.Describe(fmt.Sprintf("%s %d keys, %d members, %s", verb, p.Keys, p.Members, memreport.HumanBytes(p.Bytes)))
			}
			res, err := cleanup.Run(ctx, rc, opts)
			b.Finish()
			interrupted := err != nil && ctx.Err() != nil
			if err != nil && !interrupted {
				if res != nil {
					_ = printCleanup(a.stdout, res, f.asJSON)
				}
				return fmt.Errorf("cleanup: %w (running it again resumes)", err)
			}
			if res != nil {
				if err := printCleanup(a.stdout, res, f.asJSON); err != nil {
					return err
				}
			}
			if interrupted {
				return &exitError{code: 130, msg: "cleanup interrupted; what it removed stays removed, and running the same command again resumes"}
			}
			return nil
		},
	}
	fs := cmd.Flags()
	fs.BoolVar(&f.apply, "apply", false, "remove (without it: dry run)")
	fs.IntVar(&f.rate, "rate", cleanup.DefaultRate, "most keys (or dead jobs) removed per second")
	fs.BoolVar(&f.failinfo, "legacy-sidekiq-failinfo", false, "remove Sidekiq Pro b-<bid>-failinfo hashes")
	fs.BoolVar(&f.batches, "batches", false, "remove keys of batches that are gone or long finished")
	fs.BoolVar(&f.processes, "processes", false, "remove info of processes that are gone")
	fs.BoolVar(&f.dead, "dead", false, "trim dead jobs beyond --dead-max-jobs or --dead-max-age")
	fs.BoolVar(&f.outputs, "job-outputs", false, "remove every job output and progress record ({jl:out}:*)")
	fs.Int64Var(&f.deadMaxJobs, "dead-max-jobs", 0, "with --dead: keep at most N dead jobs per queue, the newest")
	fs.DurationVar(&f.deadMaxAge, "dead-max-age", 0, "with --dead: remove dead jobs older than this (e.g. 720h)")
	fs.BoolVar(&f.asJSON, "json", false, "print one JSON object")
	return cmd
}

func printCleanup(w io.Writer, r *cleanup.Result, asJSON bool) error {
	if asJSON {
		return writeJSON(w, viewCleanup(r))
	}
	t := newTable(w)
	fmt.Fprintln(t, "TARGET\tKEYS\tMEMBERS\tBYTES\tEXAMPLES")
	var keys, bytes int64
	for _, tr := range r.Targets {
		keys += tr.Keys
		bytes += tr.Bytes
		fmt.Fprintf(t, "%s\t%d\t%d\t%s\t%s\n", tr.Target, tr.Keys, tr.Members, memreport.HumanBytes(tr.Bytes), dash(cellN(strings.Join(tr.Examples, " "), maxListRunes)))
	}
	if err := t.Flush(); err != nil {
		return err
	}
	for _, tr := range r.Targets {
		for _, k := range tr.Kept {
			fmt.Fprintf(w, "kept %s: %s", cell(k.Key), cellN(k.Reason, maxErrorRunes))
			if k.Count > 0 {
				fmt.Fprintf(w, " (%d)", k.Count)
			}
			fmt.Fprintln(w)
		}
		if more := tr.KeptCount - int64(len(tr.Kept)); more > 0 {
			fmt.Fprintf(w, "kept %d more for %s\n", more, tr.Target)
		}
	}
	fmt.Fprintln(w)
	if r.Applied {
		fmt.Fprintf(w, "removed %d keys, about %s freed (%d key names scanned in %s)\n", keys, memreport.HumanBytes(bytes), r.Scanned, r.Elapsed.Round(time.Millisecond))
	} else {
		fmt.Fprintf(w, "dry run: would remove %d keys, about %s (%d key names scanned); nothing was removed: add --apply to remove\n", keys, memreport.HumanBytes(bytes), r.Scanned)
	}
	return nil
}
