package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/joblot/joblot/internal/benchrun"
	"github.com/joblot/joblot/internal/keyspace"
)

func newBenchIdleCmd(a *app) *cobra.Command {
	var (
		cfg    benchrun.IdleConfig
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "idle",
		Short: "Redis calls per second of an idle server process (INFO commandstats delta; Redis only)",
		Long: `idle starts a server with nothing to do and measures how many commands
Redis runs for it: the INFO commandstats delta over --duration, less the
measurement's own INFO call, per second. Commands run by Lua scripts are
counted too (Redis counts them). The Redis must otherwise be quiet.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := a.openStore(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			if s.redis == nil {
				return fmt.Errorf("bench idle measures Redis calls: give --redis URL or set %s", redisURLEnv)
			}
			cfg.Logger = a.logger()
			nodes, err := keyspace.Primaries(cmd.Context(), s.redis.Client())
			if err != nil {
				return err
			}
			cfg.InfoCalls = len(nodes)
			res, err := benchrun.Idle(cmd.Context(), s.Backend, commandStats(nodes), cfg)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.stdout, res)
			}
			fmt.Fprintf(a.stdout, "%.2f Redis calls/s over %.1fs (%d calls)\n", res.RedisCallsPerSec, res.DurationSeconds, res.Calls)
			t := newTable(a.stdout)
			fmt.Fprintln(t, "COMMAND\tCALLS\tPER SEC")
			for _, c := range res.Commands {
				fmt.Fprintf(t, "%s\t%d\t%.2f\n", cell(c.Command), c.Calls, c.PerSec)
			}
			return t.Flush()
		},
	}
	cmd.Flags().DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long to measure")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}
