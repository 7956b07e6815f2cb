package joblot_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend/bolt"
)

// PurgeArgs purges expired sessions.
type PurgeArgs struct{}

func (PurgeArgs) Kind() string { return "purge_sessions" }

// A periodic job is enqueued on its schedule by whichever server holds the
// periodic lease; the store records each instant once, so however many
// servers run, and whichever leads, no instant is enqueued twice. Each job
// carries its periodic job's name and instant in its metadata.
func ExamplePeriodicJob() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "joblot-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	store, err := bolt.Open(filepath.Join(dir, "joblot.db"), bolt.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	done := make(chan struct{})
	var once sync.Once
	workers := joblot.NewWorkers()
	joblot.AddWorker(workers, joblot.WorkFunc[PurgeArgs](func(ctx context.Context, job *joblot.Job[PurgeArgs]) error {
		once.Do(func() { // the example stops after the first instant
			at, err := time.Parse(time.RFC3339Nano, job.Meta[joblot.MetaPeriodicInstant])
			fmt.Printf("%s ran for an instant on a whole second: %v\n", job.Meta[joblot.MetaPeriodicName], err == nil && at.Equal(at.Truncate(time.Second)))
			close(done)
		})
		return nil
	}), nil)

	server, err := joblot.NewServer(store, joblot.ServerConfig{
		Workers: workers,
		Periodic: []joblot.PeriodicJob{
			// @every instants are multiples of the duration since the Unix
			// epoch; cron expressions run in UTC unless they name a zone.
			{Name: "purge", Schedule: "@every 1s", Args: PurgeArgs{}},
			{Name: "report", Schedule: "CRON_TZ=Europe/Paris 30 6 * * 1-5", Args: ReportArgs{}, Missed: joblot.MissedRunOnce},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := server.Start(ctx); err != nil {
		log.Fatal(err)
	}
	<-done
	stopCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := server.Stop(stopCtx); err != nil {
		log.Fatal(err)
	}
	// What `joblot periodic list` shows.
	states, err := store.ListPeriodic(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, st := range states {
		fmt.Printf("%s: %q on queue %s, missed: %s\n", st.Name, st.Schedule, st.Queue, st.Missed)
	}
	// Output:
	// purge ran for an instant on a whole second: true
	// purge: "@every 1s" on queue default, missed: skip
	// report: "CRON_TZ=Europe/Paris 30 6 * * 1-5" on queue default, missed: run_once
}

// ReportArgs builds the morning report.
type ReportArgs struct{}

func (ReportArgs) Kind() string { return "morning_report" }
