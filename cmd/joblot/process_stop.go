package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/joblot/joblot"
)

func newProcessStopCmd(a *app) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "stop ID",
		Short: "Ask a server process to stop gracefully",
		Long: `Ask the live server process ID (the PROCESS column of joblot stats) to stop,
as cancelling Run's context does from inside it: it fetches no new jobs,
finishes those it runs within its shutdown timeout (and returns the rest to
their queues), deregisters, and its Run returns. It reads the request on
its next heartbeat (every 2 s by default). Whatever supervises the program
(systemd, Kubernetes) decides whether it starts again.

On the embedded file store the request goes through the running owner of
the file.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.inspect(cmd.Context(), func(in *joblot.Inspector, _ *store) error {
				if err := in.StopProcess(cmd.Context(), args[0]); err != nil {
					return fmt.Errorf("process %s: %w", args[0], err)
				}
				if asJSON {
					return writeJSON(a.stdout, processActView{Process: args[0], Action: "stop"})
				}
				fmt.Fprintf(a.stdout, "process %s asked to stop (it reads the request on its next heartbeat)\n", cell(args[0]))
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}
