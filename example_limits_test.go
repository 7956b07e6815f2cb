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

// CustomerReportArgs builds one customer's report. Its limit key is the customer,
// so a LimitByKey limit applies to each customer separately.
type CustomerReportArgs struct {
	Customer string `json:"customer"`
	Month    int    `json:"month"`
}

func (CustomerReportArgs) Kind() string { return "report" }

// LimitKey puts the job in its customer's limit group (joblot.LimitKeyer).
func (a CustomerReportArgs) LimitKey() string { return a.Customer }

// A global limit caps one customer's reports at 2 running at once across
// every server, however many workers they have; another customer's
// reports run beside them. ServerConfig.QueueLimits writes the limit to
// the store when the server starts; the store enforces it when it hands
// out jobs, so the jobs over it wait aside instead of being fetched again
// and again.
func ExampleQueueLimits() {
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

	var (
		mu            sync.Mutex
		running, most = map[string]int{}, map[string]int{}
		ran           = map[string]int{}
		wg            sync.WaitGroup
	)
	workers := joblot.NewWorkers()
	joblot.AddWorker(workers, joblot.WorkFunc[CustomerReportArgs](func(ctx context.Context, job *joblot.Job[CustomerReportArgs]) error {
		defer wg.Done()
		c := job.Args.Customer
		mu.Lock()
		running[c]++
		most[c] = max(most[c], running[c])
		mu.Unlock()
		time.Sleep(10 * time.Millisecond) // the work
		mu.Lock()
		running[c]--
		ran[c]++
		mu.Unlock()
		return nil
	}), nil)

	client := joblot.NewClient(store, joblot.ClientConfig{})
	var params []joblot.EnqueueParams
	for month := 1; month <= 6; month++ {
		params = append(params, joblot.EnqueueParams{Args: CustomerReportArgs{Customer: "acme", Month: month}})
	}
	params = append(params, joblot.EnqueueParams{Args: CustomerReportArgs{Customer: "globex", Month: 1}})
	wg.Add(len(params))
	if _, err := client.EnqueueMany(ctx, params); err != nil {
		log.Fatal(err)
	}

	server, err := joblot.NewServer(store, joblot.ServerConfig{
		Workers:     workers,
		Concurrency: 10,
		QueueLimits: map[string]joblot.QueueLimits{
			joblot.DefaultQueue: {Concurrency: 2, By: joblot.LimitByKey},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := server.Start(ctx); err != nil {
		log.Fatal(err)
	}
	wg.Wait()
	stopCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := server.Stop(stopCtx); err != nil {
		log.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	fmt.Printf("acme: %d reports, never more than 2 at once: %v\n", ran["acme"], most["acme"] <= 2)
	fmt.Printf("globex: %d report\n", ran["globex"])
	// Output:
	// acme: 6 reports, never more than 2 at once: true
	// globex: 1 report
}
