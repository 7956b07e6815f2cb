package demo

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
)

// ThumbnailArgs: resize one image. Always succeeds.
type ThumbnailArgs struct {
	N int `json:"n"`
}

// Kind implements joblot.JobArgs.
func (ThumbnailArgs) Kind() string { return "demo_thumbnail" }

// ChargeArgs: charge one invoice. 30 % fail: some for good (killed at
// once: straight to the dead set), some transiently (they succeed on
// their one quick retry).
type ChargeArgs struct {
	N int `json:"n"`
}

// Kind implements joblot.JobArgs.
func (ChargeArgs) Kind() string { return "demo_charge" }

// SectionArgs: build one section of a report.
type SectionArgs struct {
	N int `json:"n"`
}

// Kind implements joblot.JobArgs.
func (SectionArgs) Kind() string { return "demo_section" }

// ChartsArgs: the job that opens a child batch of chart jobs from inside
// the parent batch.
type ChartsArgs struct {
	Charts int `json:"charts"`
}

// Kind implements joblot.JobArgs.
func (ChartsArgs) Kind() string { return "demo_charts" }

// ChartArgs: render one chart (a job of the child batch).
type ChartArgs struct {
	N int `json:"n"`
}

// Kind implements joblot.JobArgs.
func (ChartArgs) Kind() string { return "demo_chart" }

// CallbackArgs is every demo batch callback; the batch and the event come
// from the job's metadata.
type CallbackArgs struct{}

// Kind implements joblot.JobArgs.
func (CallbackArgs) Kind() string { return "demo_callback" }

// chargeError decides whether charge n fails, and how. The messages carry
// what real payment errors carry (charge, customer, account and request
// ids, amounts, durations), different in every failure; error grouping
// folds them, so each of the five shapes makes one group.
func chargeError(n, attempt int) error {
	switch mix(n) % 100 {
	case 0, 1, 2, 3, 4, 5:
		return joblot.JobKill(fmt.Errorf("charge %s: card declined for customer %s", demoID("ch_", n, 1), demoID("cus_", n, 2)))
	case 6, 7, 8, 9, 10, 11:
		if attempt == 1 {
			return fmt.Errorf("POST https://api.payments.example/v1/charges/%s: payment gateway timeout after %dms", demoID("ch_", n, 3), 3000+n%50)
		}
	case 12, 13, 14, 15, 16, 17:
		return joblot.JobKill(fmt.Errorf("charge %s of %d.%02d: invalid currency %q", demoID("ch_", n, 4), 10+n%990, n%100, [...]string{"XYZ", "ABC", "ZZZ"}[n%3]))
	case 18, 19, 20, 21, 22, 23:
		return joblot.JobKill(fmt.Errorf("account %s is frozen (since %s)", demoID("acct_", n, 5),
			time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(mix(n)%(365*24*3600))*time.Second).Format(time.RFC3339)))
	case 24, 25, 26, 27, 28, 29:
		if attempt == 1 {
			return fmt.Errorf("rate limited by payment provider; request-id: %s: %w", demoID("req_", n, 6), errRateLimited)
		}
	}
	return nil
}

// errRateLimited is the sentinel a payment SDK would wrap.
var errRateLimited = errors.New("retry later")

// demoID is a payment-provider style id for item n: prefix, then 14
// characters of base62 that start with a digit and an upper-case letter
// (as such ids do), different for every n and salt.
func demoID(prefix string, n, salt int) string {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 0, len(prefix)+14)
	b = append(b, prefix...)
	x := uint64(mix(n))<<32 | uint64(mix(n^(salt*0x5bd1e995)))
	for i := range 14 {
		x = x*6364136223846793005 + 1442695040888963407
		d := int(x >> 58) // 0..63
		switch i {
		case 0:
			b = append(b, digits[1+d%9])
		case 1:
			b = append(b, digits[10+d%26])
		default:
			b = append(b, digits[d%62])
		}
	}
	return string(b)
}

// mix spreads n over [0, 2^32) (a multiplicative hash), so failures are
// spread over the batch instead of bunched.
func mix(n int) uint32 {
	x := uint32(n)*2654435761 + 0x9e3779b9
	x ^= x >> 15
	x *= 2246822519
	x ^= x >> 13
	return x
}

// firedCallback is a callback that ran.
type firedCallback struct {
	Event backend.CallbackEvent
	At    time.Time
}

// callbackLog records the callbacks that ran, once per (batch, event).
type callbackLog struct {
	mu    sync.Mutex
	fired map[string][]firedCallback
}

func (l *callbackLog) record(_ context.Context, job *joblot.Job[CallbackArgs]) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, f := range l.fired[job.CallbackOf] {
		if f.Event == job.CallbackEvent {
			return nil // a callback may run twice (at least once); show it once
		}
	}
	l.fired[job.CallbackOf] = append(l.fired[job.CallbackOf], firedCallback{Event: job.CallbackEvent, At: time.Now()})
	return nil
}

func (l *callbackLog) has(batch string, ev backend.CallbackEvent) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, f := range l.fired[batch] {
		if f.Event == ev {
			return true
		}
	}
	return false
}

func (l *callbackLog) of(batch string) []firedCallback {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]firedCallback(nil), l.fired[batch]...)
}

// workers registers the demo's job kinds.
func workers(cb *callbackLog, chartChunk int) *joblot.Workers {
	ws := joblot.NewWorkers()
	joblot.AddWorker(ws, joblot.WorkFunc[ThumbnailArgs](func(context.Context, *joblot.Job[ThumbnailArgs]) error { return nil }), nil)
	joblot.AddWorker(ws, joblot.WorkFunc[ChargeArgs](func(_ context.Context, job *joblot.Job[ChargeArgs]) error {
		return chargeError(job.Args.N, job.Attempt)
	}), &joblot.WorkerOpts{
		// One quick retry, so the demo finishes: transient failures
		// succeed on it.
		MaxRetries:  1,
		RetryPolicy: joblot.RetryPolicyFunc(func(int) time.Duration { return time.Second }),
	})
	joblot.AddWorker(ws, joblot.WorkFunc[SectionArgs](func(context.Context, *joblot.Job[SectionArgs]) error { return nil }), nil)
	joblot.AddWorker(ws, joblot.WorkFunc[ChartArgs](func(context.Context, *joblot.Job[ChartArgs]) error { return nil }), nil)
	joblot.AddWorker(ws, joblot.WorkFunc[ChartsArgs](func(ctx context.Context, job *joblot.Job[ChartsArgs]) error {
		parent, err := joblot.BatchFromContext(ctx)
		if err != nil {
			return err
		}
		// A re-run of this job (after a crash) reuses the same child and
		// adds nothing twice: adds from inside a job are idempotent.
		child, err := parent.NewChild(ctx, joblot.BatchOpts{
			Description: "render charts (child batch)",
			OnComplete:  callback(),
			OnSuccess:   callback(),
			OnDeath:     callback(),
		})
		if err != nil {
			return err
		}
		for from := 0; from < job.Args.Charts; from += chartChunk {
			to := min(from+chartChunk, job.Args.Charts)
			params := make([]joblot.EnqueueParams, 0, to-from)
			for n := from; n < to; n++ {
				params = append(params, joblot.EnqueueParams{Args: ChartArgs{N: n}})
			}
			if err := child.Add(ctx, params...); err != nil {
				return err
			}
		}
		return child.Commit(ctx)
	}), nil)
	joblot.AddWorker(ws, joblot.WorkFunc[CallbackArgs](cb.record), nil)
	return ws
}

func callback() *joblot.Callback { return &joblot.Callback{Args: CallbackArgs{}} }
