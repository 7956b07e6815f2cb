package joblot_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend/bolt"
)

// PayoutArgs is the job of the health example.
type PayoutArgs struct {
	N int `json:"n"`
}

// Kind names the job type.
func (PayoutArgs) Kind() string { return "payout" }

// Wire a worker process for an orchestrator: SIGTERM stops it gracefully,
// SIGTSTP quiets it (it fetches nothing new, finishes what it holds and
// keeps heartbeating, as before a deploy stops it), and HealthHandler
// answers the liveness and readiness probes. An example cannot send itself
// signals, so it calls Quiet where the SIGTSTP handler would.
func ExampleServer_Quiet() {
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
	workers := joblot.NewWorkers()
	joblot.AddWorker(workers, joblot.WorkFunc[PayoutArgs](func(ctx context.Context, job *joblot.Job[PayoutArgs]) error {
		fmt.Printf("payout %d sent\n", job.Args.N)
		close(done)
		return nil
	}), nil)
	server, err := joblot.NewServer(store, joblot.ServerConfig{Workers: workers})
	if err != nil {
		log.Fatal(err)
	}

	// main's wiring: ctx ends at SIGTERM (or Ctrl-C); SIGTSTP quiets.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	tstp := make(chan os.Signal, 1)
	signal.Notify(tstp, syscall.SIGTSTP)
	defer signal.Stop(tstp)
	go func() {
		select {
		case <-tstp:
			server.Quiet()
		case <-ctx.Done():
		}
	}()
	// The probes, on a private port in a real process:
	//	go http.ListenAndServe("127.0.0.1:8081", server.HealthHandler())
	probes := httptest.NewServer(server.HealthHandler())
	defer probes.Close()
	probe := func(path string) int {
		resp, err := probes.Client().Get(probes.URL + path)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	if err := server.Start(ctx); err != nil {
		log.Fatal(err)
	}
	client := joblot.NewClient(store, joblot.ClientConfig{})
	if _, err := client.Enqueue(ctx, PayoutArgs{N: 1}, nil); err != nil {
		log.Fatal(err)
	}
	<-done
	h := server.Health(ctx)
	fmt.Printf("%s: live %v, ready %v, /livez %d, /readyz %d\n", h.State, h.Live, h.Ready, probe("/livez"), probe("/readyz"))

	server.Quiet() // what SIGTSTP does
	if _, err := client.Enqueue(ctx, PayoutArgs{N: 2}, nil); err != nil {
		log.Fatal(err)
	}
	h = server.Health(ctx)
	fmt.Printf("%s: live %v, ready %v, /livez %d, /readyz %d\n", h.State, h.Live, h.Ready, probe("/livez"), probe("/readyz"))
	st, err := joblot.NewInspector(store).Stats(ctx)
	if err != nil {
		log.Fatal(err)
	}
	q, _ := st.Queue(joblot.DefaultQueue)
	fmt.Printf("left queued for other processes: %d\n", q.Size)

	stop() // what SIGTERM does; Run would now stop the server
	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := server.Stop(stopCtx); err != nil {
		log.Fatal(err)
	}
	h = server.Health(ctx)
	fmt.Printf("%s: live %v, ready %v\n", h.State, h.Live, h.Ready)
	// Output:
	// payout 1 sent
	// running: live true, ready true, /livez 200, /readyz 200
	// quiet: live true, ready false, /livez 200, /readyz 503
	// left queued for other processes: 1
	// stopped: live false, ready false
}
