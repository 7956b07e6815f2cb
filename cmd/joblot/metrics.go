package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/joblot/joblot/internal/memreport"
	"github.com/joblot/joblot/metrics"
)

func newMetricsCmd(a *app) *cobra.Command {
	var (
		addr                 string
		sample               int
		refresh, familyEvery time.Duration
	)
	cmd := &cobra.Command{
		Use:   "metrics",
		Short: "Serve Prometheus metrics of the store on /metrics until interrupted",
		Long: `Serve Prometheus metrics of the store on http://ADDR/metrics until
SIGINT or SIGTERM: queue sizes and latency, store counters, processes,
batches by state, store memory and, on Redis, bytes per key family
(measured by a sampled memory report every --family-interval). The store
is read in the background; a scrape never touches it.

Job outcomes and durations are counted by the servers that run the jobs
(metrics.Collector as their Observer), not by this command.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if sample < 0 {
				return fmt.Errorf("--sample must not be negative, got %d", sample)
			}
			ctx := cmd.Context()
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			opts := metrics.Options{RefreshInterval: refresh, FamilyInterval: familyEvery, Logger: a.logger()}
			if s.redis != nil {
				client := s.redis.Client()
				keys := s.redisKeys()
				opts.Families = func(ctx context.Context) (map[string]int64, error) {
					res, err := memreport.Report(ctx, client, memreport.Options{Sample: sample, TopKeys: -1, Keys: keys})
					if err != nil {
						return nil, err
					}
					m := make(map[string]int64, len(res.Families))
					for _, f := range res.Families {
						m[string(f.Family)] = f.Bytes
					}
					return m, nil
				}
			}
			c := metrics.New(s.Backend, opts)
			l, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("metrics: listen on %s: %w", addr, err)
			}
			mux := http.NewServeMux()
			mux.Handle("/metrics", c.Handler())
			srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
			runCtx, stop := context.WithCancel(ctx)
			defer stop()
			done := make(chan struct{})
			go func() {
				defer close(done)
				_ = c.Run(runCtx)
			}()
			fmt.Fprintf(a.stdout, "serving metrics of %s on http://%s/metrics (Ctrl-C stops)\n", cell(s.desc), l.Addr())
			serveErr := make(chan error, 1)
			go func() { serveErr <- srv.Serve(l) }()
			select {
			case err = <-serveErr:
			case <-ctx.Done():
				shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				err = srv.Shutdown(shutdownCtx)
				cancel()
			}
			stop()
			<-done
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("metrics: %w", err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", ":9090", "address to serve /metrics on")
	cmd.Flags().IntVar(&sample, "sample", 10_000, "Redis: keys the periodic memory report measures (0: every key)")
	cmd.Flags().DurationVar(&refresh, "refresh", metrics.DefaultRefreshInterval, "how often queue and store gauges are read")
	cmd.Flags().DurationVar(&familyEvery, "family-interval", metrics.DefaultFamilyInterval, "Redis: how often bytes per key family are measured")
	return cmd
}
