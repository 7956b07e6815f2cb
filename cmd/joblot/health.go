package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
)

// Defaults of `joblot health`.
const (
	// defaultHealthTimeout bounds the whole check.
	defaultHealthTimeout = 5 * time.Second
	// defaultMaxBeatAge is how old a process's last heartbeat may be:
	// fifteen default heartbeat intervals, well within a process's lease
	// but long enough that a busy store does not fail the check.
	defaultMaxBeatAge = 30 * time.Second
)

// healthView is what `health` prints.
type healthView struct {
	OK    bool   `json:"ok"`
	Store string `json:"store,omitempty"`
	// StoreOK: the store answered a Stats call in time.
	StoreOK bool `json:"store_ok"`
	// Process is set when --process was given.
	Process *processHealthView `json:"process,omitempty"`
	// Problems says, in words, why the check failed.
	Problems []string `json:"problems,omitempty"`
}

type processHealthView struct {
	ID string `json:"id"`
	// Found: the process is registered and its lease has not expired.
	Found      bool       `json:"found"`
	Quiet      bool       `json:"quiet"`
	InFlight   int        `json:"in_flight"`
	LastBeatAt *time.Time `json:"last_beat_at,omitempty"`
	// BeatAgeMs is how long ago its last heartbeat was.
	BeatAgeMs *float64 `json:"beat_age_ms,omitempty"`
}

func newHealthCmd(a *app) *cobra.Command {
	var (
		asJSON     bool
		proc       string
		maxBeatAge time.Duration
		timeout    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Check that the store answers and, with --process, that a server process heartbeats",
		Long: `Check health from outside a server process, for a container's health check
or a monitoring probe. Exit code 0 when every check passes, 1 otherwise.

It checks:

  store      the selected store (Redis, or the embedded file or its running
             owner) answers one statistics read within --timeout;
  --process  (when given) the process ID (the PROCESS column of joblot stats)
             is registered with a lease that has not expired, and its last
             heartbeat is at most --max-beat-age old (0: any age within its
             lease). A quiet process passes: it is healthy, only draining;
             the output says it is quiet.

It does not check that a process's own loops run: a process's liveness is
Server.Health (/livez of Server.HealthHandler), which never depends on the
store. On the embedded file store, processes are known to the file's running
owner only: check --process there while the owner runs.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			v := a.checkHealth(ctx, proc, maxBeatAge)
			if asJSON {
				if err := writeJSON(a.stdout, v); err != nil {
					return err
				}
			} else {
				printHealth(a, v)
			}
			if !v.OK {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	cmd.Flags().StringVar(&proc, "process", "", "also check that the server process `ID` heartbeats")
	cmd.Flags().DurationVar(&maxBeatAge, "max-beat-age", defaultMaxBeatAge, "the oldest last heartbeat --process accepts (0: any within its lease)")
	cmd.Flags().DurationVar(&timeout, "timeout", defaultHealthTimeout, "bound on the whole check")
	return cmd
}

// checkHealth runs the checks; its problems are fixed words and bounded
// error text.
func (a *app) checkHealth(ctx context.Context, proc string, maxBeatAge time.Duration) healthView {
	var v healthView
	fail := func(format string, args ...any) {
		v.Problems = append(v.Problems, cellN(fmt.Sprintf(format, args...), maxErrorRunes))
	}
	s, err := a.openStore(ctx)
	if err != nil {
		fail("store: %v", err)
		return v
	}
	defer s.Close()
	v.Store = s.desc
	st, err := joblot.NewInspector(s.Backend).Stats(ctx)
	if err != nil {
		fail("store: %v", err)
		return v
	}
	v.StoreOK = true
	if proc != "" {
		v.Process = &processHealthView{ID: proc}
		var p *backend.ProcessInfo
		for i := range st.Processes {
			if st.Processes[i].ID == proc {
				p = &st.Processes[i]
			}
		}
		switch {
		case p == nil:
			fail("process %s: not registered, or its lease expired", proc)
		default:
			v.Process.Found, v.Process.Quiet, v.Process.InFlight = true, p.Quiet, p.InFlight
			v.Process.LastBeatAt = jsonTime(p.LastBeat)
			age := time.Since(p.LastBeat)
			ms := millis(age)
			v.Process.BeatAgeMs = &ms
			if maxBeatAge > 0 && age > maxBeatAge {
				fail("process %s: last heartbeat %v ago, more than --max-beat-age %v", proc, age.Round(time.Millisecond), maxBeatAge)
			}
		}
	}
	v.OK = len(v.Problems) == 0
	return v
}

func printHealth(a *app, v healthView) {
	t := newTable(a.stdout)
	status := "ok"
	if !v.OK {
		status = "FAIL"
	}
	fmt.Fprintf(t, "health\t%s\n", status)
	if v.Store != "" {
		fmt.Fprintf(t, "store\t%s\n", cell(v.Store))
	}
	if p := v.Process; p != nil && p.Found {
		state := "running"
		if p.Quiet {
			state = "quiet"
		}
		fmt.Fprintf(t, "process\t%s (%s, %d in flight)\n", cell(p.ID), state, p.InFlight)
		if p.BeatAgeMs != nil {
			fmt.Fprintf(t, "last heartbeat\t%v ago\n", (time.Duration(*p.BeatAgeMs) * time.Millisecond).Round(time.Millisecond))
		}
	}
	for _, pr := range v.Problems {
		fmt.Fprintf(t, "problem\t%s\n", cell(pr))
	}
	_ = t.Flush()
}
