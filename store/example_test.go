package store_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/store"
)

// WelcomeArgs is the job of the example: a welcome mail.
type WelcomeArgs struct {
	Email string `json:"email"`
}

// Kind names the job type.
func (WelcomeArgs) Kind() string { return "welcome" }

// A web process enqueues and a worker process runs the jobs, on one
// machine with the embedded file store and no Redis: both open the same
// address; the first to open it owns the file and the other goes through
// it. Here both "processes" are one program, the worker opening first.
func ExampleOpen() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "joblot-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	url := "file:" + filepath.Join(dir, "jobs.db") // or redis://host:6379 for several machines

	// The worker process.
	workerStore, err := store.Open(ctx, store.Options{URL: url})
	if err != nil {
		log.Fatal(err)
	}
	defer workerStore.Close()
	sent := make(chan string, 1)
	workers := joblot.NewWorkers()
	joblot.AddWorker(workers, joblot.WorkFunc[WelcomeArgs](func(ctx context.Context, job *joblot.Job[WelcomeArgs]) error {
		sent <- job.Args.Email
		return nil
	}), nil)
	server, err := joblot.NewServer(workerStore.Backend, joblot.ServerConfig{Workers: workers})
	if err != nil {
		log.Fatal(err)
	}
	if err := server.Start(ctx); err != nil {
		log.Fatal(err)
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_ = server.Stop(stopCtx)
	}()

	// The web process: the same address.
	webStore, err := store.Open(ctx, store.Options{URL: url})
	if err != nil {
		log.Fatal(err)
	}
	defer webStore.Close()
	fmt.Println("web process goes through the worker:", webStore.Remote != nil)
	client := joblot.NewClient(webStore.Backend, joblot.ClientConfig{})
	signup := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := client.Enqueue(r.Context(), WelcomeArgs{Email: r.FormValue("email")}, nil); err != nil {
			http.Error(w, "try again later", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})

	rec := httptest.NewRecorder()
	signup.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/signup?email=ada@example.com", nil))
	fmt.Println("POST /signup:", rec.Code)
	fmt.Println("welcome mail sent to", <-sent)
	// Output:
	// web process goes through the worker: true
	// POST /signup: 202
	// welcome mail sent to ada@example.com
}
