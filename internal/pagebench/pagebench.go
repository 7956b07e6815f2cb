// Package pagebench seeds a store the size the web dashboard must stay fast
// on (by default 1,000,000 queued jobs, 100,000 dead and 10,000 batches)
// through the ordinary Backend calls, and its benchmarks time the
// Inspector calls each dashboard page makes against it on both backends:
//
//	go test -run '^$' -bench . -benchtime 20x ./internal/pagebench
package pagebench

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/joblot/joblot/backend"
)

// Spec sizes a seeded store. Zero fields take the defaults below.
type Spec struct {
	// Queues spreads the jobs over this many queues (default 10).
	Queues int
	// Queued is how many jobs wait in the queues, batch jobs included
	// (default 1,000,000).
	Queued int
	// Dead is how many jobs sit in the dead sets (default 100,000); one in
	// RareEvery of them carries the rare error RareError.
	Dead int
	// Batches is how many committed batches hold BatchJobs queued jobs
	// each (default 10,000 of 10).
	Batches, BatchJobs int
	// Workers is how many goroutines enqueue at once (default 4).
	Workers int
}

// Defaults of Spec.
const (
	DefaultQueues    = 10
	DefaultQueued    = 1_000_000
	DefaultDead      = 100_000
	DefaultBatches   = 10_000
	DefaultBatchJobs = 10
	DefaultWorkers   = 4
)

// RareEvery is how often (one dead job in RareEvery) the rare error is
// seeded, for a sparse filter (JobFilter.ErrorContains RareError).
const RareEvery = 1000

// RareError is the error message of the rare dead jobs.
const RareError = "rare: disk quota exceeded"

// enqueueChunk is the jobs of one Enqueue call, as a bulk client sends them.
const enqueueChunk = 1000

// proc is the process id the seeding fetches and kills the dead jobs as.
const proc = "pagebench-seed"

func (s Spec) withDefaults() Spec {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&s.Queues, DefaultQueues)
	def(&s.Queued, DefaultQueued)
	def(&s.Dead, DefaultDead)
	def(&s.Batches, DefaultBatches)
	def(&s.BatchJobs, DefaultBatchJobs)
	def(&s.Workers, DefaultWorkers)
	return s
}

// Scale returns s with every count (defaults included) multiplied by f, at
// least 1 each: a quick run of the same shape.
func (s Spec) Scale(f float64) Spec {
	s = s.withDefaults()
	sc := func(v int) int { return max(1, int(float64(v)*f)) }
	s.Queued, s.Dead, s.Batches = sc(s.Queued), sc(s.Dead), sc(s.Batches)
	return s
}

// Limits are the store limits a seeded store needs: the dead caps raised
// above Dead, so that nothing is trimmed.
func (s Spec) Limits() backend.Limits {
	s = s.withDefaults()
	return backend.Limits{DeadMaxJobs: int64(2 * s.Dead), DeadMaxBytes: int64(s.Dead) * 4096}
}

// Seeded describes what Seed stored.
type Seeded struct {
	Queues []string
	// BatchIDs are the batches, in creation order.
	BatchIDs []string
	// Rare is how many dead jobs carry RareError.
	Rare int
}

// QueueName is the name of the i-th queue.
func QueueName(i int) string { return fmt.Sprintf("q%02d", i) }

// Seed fills b (empty, opened with s.Limits()) as s says, at now: the dead
// jobs are enqueued, fetched and acknowledged dead like failed jobs, then
// the queued jobs are enqueued in bulk, then the batches are created,
// filled and committed.
func Seed(ctx context.Context, b backend.Backend, s Spec, now time.Time) (Seeded, error) {
	s = s.withDefaults()
	var out Seeded
	for i := range s.Queues {
		out.Queues = append(out.Queues, QueueName(i))
	}
	var seq int
	job := func(kind string) *backend.Job {
		seq++
		q := out.Queues[seq%len(out.Queues)]
		return &backend.Job{
			ID:         backend.NewJobID(),
			Kind:       kind,
			Queue:      q,
			Args:       []byte(`{"account_id":` + strconv.Itoa(seq) + `,"report":"monthly","locale":"en"}`),
			MaxRetries: 25,
			CreatedAt:  now,
		}
	}

	// Dead jobs: the path a failing job takes.
	if err := b.Heartbeat(ctx, backend.ProcessInfo{ID: proc, Hostname: "pagebench", Queues: out.Queues, Concurrency: 1, StartedAt: now}, time.Hour); err != nil {
		return out, fmt.Errorf("pagebench: heartbeat: %w", err)
	}
	for done := 0; done < s.Dead; {
		n := min(enqueueChunk, s.Dead-done)
		jobs := make([]*backend.Job, n)
		for i := range jobs {
			jobs[i] = job("report.render")
		}
		if _, err := b.Enqueue(ctx, jobs); err != nil {
			return out, fmt.Errorf("pagebench: enqueue: %w", err)
		}
		fr, err := b.Fetch(ctx, backend.FetchParams{Proc: proc, Queues: out.Queues, Max: n})
		fs := fr.Jobs
		if err != nil {
			return out, fmt.Errorf("pagebench: fetch: %w", err)
		}
		results := make([]backend.Result, len(fs))
		for i, f := range fs {
			j := f.Job.Clone()
			j.Attempt = 26
			j.ErrorClass, j.ErrorMessage = "*net.OpError", "dial tcp 10.0.0.7:5432: connect: connection refused"
			if (done+i)%RareEvery == 0 {
				j.ErrorClass, j.ErrorMessage = "*fs.PathError", RareError
				out.Rare++
			}
			j.FailedAt, j.DiedAt = now, now.Add(time.Duration(done+i)*time.Millisecond)
			results[i] = backend.Result{Fetched: f, Outcome: backend.OutcomeDead, Job: j}
		}
		if err := b.Complete(ctx, proc, results); err != nil {
			return out, fmt.Errorf("pagebench: complete: %w", err)
		}
		if len(fs) == 0 {
			return out, fmt.Errorf("pagebench: fetched nothing after enqueueing %d jobs", n)
		}
		done += len(fs)
	}
	if err := b.Deregister(ctx, proc); err != nil {
		return out, fmt.Errorf("pagebench: deregister: %w", err)
	}

	// Queued jobs, in bulk, from Workers goroutines.
	plain := s.Queued - s.Batches*s.BatchJobs
	chunks := make(chan []*backend.Job, s.Workers)
	errc := make(chan error, 1)
	var wg sync.WaitGroup
	for range s.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for jobs := range chunks {
				if _, err := b.Enqueue(ctx, jobs); err != nil {
					select {
					case errc <- fmt.Errorf("pagebench: enqueue: %w", err):
					default:
					}
				}
			}
		}()
	}
	for done := 0; done < plain; done += enqueueChunk {
		jobs := make([]*backend.Job, min(enqueueChunk, plain-done))
		for i := range jobs {
			jobs[i] = job("mail.send")
		}
		chunks <- jobs
	}

	// Batches: created, filled and committed, by the same workers' pace.
	type batch struct {
		spec *backend.BatchSpec
		jobs []*backend.Job
	}
	batches := make(chan batch, s.Workers)
	var bwg sync.WaitGroup
	for range s.Workers {
		bwg.Add(1)
		go func() {
			defer bwg.Done()
			for bt := range batches {
				err := b.CreateBatch(ctx, bt.spec)
				if err == nil {
					err = b.AddToBatch(ctx, &backend.BatchAdd{BatchID: bt.spec.ID, Jobs: bt.jobs})
				}
				if err == nil {
					err = b.CommitBatch(ctx, bt.spec.ID)
				}
				if err != nil {
					select {
					case errc <- fmt.Errorf("pagebench: batch %s: %w", bt.spec.ID, err):
					default:
					}
				}
			}
		}()
	}
	for i := range s.Batches {
		id := backend.NewJobID()
		out.BatchIDs = append(out.BatchIDs, id)
		spec := &backend.BatchSpec{
			ID:          id,
			Description: "nightly import " + strconv.Itoa(i),
			CreatedAt:   now.Add(time.Duration(i) * time.Millisecond),
			Callbacks:   map[backend.CallbackEvent]*backend.Job{backend.CallbackComplete: {Kind: "import.done", Queue: out.Queues[0]}},
		}
		jobs := make([]*backend.Job, s.BatchJobs)
		for k := range jobs {
			jobs[k] = job("import.row")
		}
		batches <- batch{spec, jobs}
	}
	close(chunks)
	close(batches)
	wg.Wait()
	bwg.Wait()
	select {
	case err := <-errc:
		return out, err
	default:
	}
	return out, ctx.Err()
}
