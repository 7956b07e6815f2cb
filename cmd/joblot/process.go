package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/joblot/joblot"
)

func newProcessCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "process",
		Short: "Act on a running server process",
	}
	cmd.AddCommand(newProcessQuietCmd(a), newProcessStopCmd(a))
	return cmd
}

// processActView is what `process quiet` and `process stop` print.
type processActView struct {
	Process string `json:"process"`
	// Action is the command: quiet or stop.
	Action string `json:"action"`
}

func newProcessQuietCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "quiet ID",
		Short: "Ask a server process to fetch no new jobs, finish those it holds, and keep heartbeating",
		Long: `Ask the live server process ID (the PROCESS column of joblot stats) to go
quiet, as Server.Quiet does from inside it: it fetches no new jobs, finishes
those it holds, keeps heartbeating and hands its background duties to
another process. It reads the request on a heartbeat (within 6 s by
default). Quiet is for good: stop the process once it holds no jobs
(IN FLIGHT 0 in joblot stats) and start a new one.

Use it to drain a process before a deploy stops it, from any machine that
reaches the store. On the embedded file store the request goes through the
running owner of the file.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.inspect(cmd.Context(), func(in *joblot.Inspector, _ *store) error {
				if err := in.QuietProcess(cmd.Context(), args[0]); err != nil {
					return fmt.Errorf("process %s: %w", args[0], err)
				}
				if asJSON {
					return writeJSON(a.stdout, processActView{Process: args[0], Action: "quiet"})
				}
				fmt.Fprintf(a.stdout, "process %s asked to quiet (it reads the request on a heartbeat, within 6 s by default)\n", cell(args[0]))
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}
