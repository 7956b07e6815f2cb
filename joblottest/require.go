package joblottest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math/big"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/termtext"
)

// DefaultRunAtTolerance is how far a job's RunAt may be from
// RequireOpts.RunAt when RunAtTolerance is zero: enough for the time a test
// takes between computing a delay and checking it, on a busy machine.
const DefaultRunAtTolerance = time.Minute

// Bounds of what an assertion reads and prints.
const (
	// maxListed is the most jobs an assertion reads from the store; past
	// it, the assertion fails and asks for a narrower RequireOpts.Queue.
	maxListed = 100_000
	// maxShown is the most jobs a failure message lists.
	maxShown = 20
	// maxArgsShown is the most characters of a job's args shown.
	maxArgsShown = 200
	// maxNameShown bounds kinds, queues and IDs in messages.
	maxNameShown = 80
)

// enqueuedSets are the sets of jobs that are enqueued and not yet finished:
// waiting in a queue, scheduled, or waiting for a retry.
var enqueuedSets = [...]backend.JobSet{backend.SetQueued, backend.SetScheduled, backend.SetRetry}

// RequireOpts narrow which enqueued jobs match an expectation. A job
// always matches on kind (the expected args' Kind), and on args unless
// KindOnly is set; each non-zero field below adds a condition.
//
// The args rule is a JSON subset match: expected is encoded as JSON, and
// every field present in that encoding must be present in the job's args
// with an equal value. Objects nested in args are compared the same way,
// field by field; arrays must have the same length and match element by
// element; numbers compare by value (1 equals 1.0). So a field with
// `json:",omitempty"` left zero in expected is not compared, while a field
// without omitempty is compared even when it is zero: to match on kind
// alone, set KindOnly.
type RequireOpts struct {
	// Queue the job must be in.
	Queue string
	// KindOnly matches any args of the expected kind.
	KindOnly bool
	// RunAt is when the job must be scheduled to run: its RunAt within
	// RunAtTolerance of this. A job enqueued to run at once has a zero
	// RunAt and never matches a non-zero one.
	RunAt time.Time
	// RunAtTolerance is how far from RunAt the job's may be (default
	// DefaultRunAtTolerance).
	RunAtTolerance time.Duration
	// BatchID is the batch the job must belong to.
	BatchID string
	// Meta lists metadata the job must carry (EnqueueOpts.Meta): every
	// key with this value; the job may carry more.
	Meta map[string]string
	// Match, if set, must also accept the job. It is for what the fields
	// above do not cover (the job's MaxRetries, Timeout, Attempt, error,
	// and fields future releases add to backend.Job).
	Match func(*backend.Job) bool
}

// condition is one thing a job must satisfy, with its description for
// failure messages. Each RequireOpts field contributes at most one.
type condition struct {
	what string
	ok   func(*backend.Job) bool
}

// conditions turns opts and the expected args into the conditions a job
// must meet, kind first.
func conditions(expected joblot.JobArgs, opts *RequireOpts) ([]condition, error) {
	var o RequireOpts
	if opts != nil {
		o = *opts
	}
	kind := expected.Kind()
	conds := []condition{{"kind " + show(kind), func(j *backend.Job) bool { return j.Kind == kind }}}
	if !o.KindOnly {
		want, err := json.Marshal(expected)
		if err != nil {
			return nil, fmt.Errorf("joblottest: encode the expected %s args: %w", kind, err)
		}
		conds = append(conds, condition{"args ⊇ " + termtext.Cell(string(want), maxArgsShown), func(j *backend.Job) bool {
			return argsMatch(want, j.Args)
		}})
	}
	if o.Queue != "" {
		conds = append(conds, condition{"queue " + show(o.Queue), func(j *backend.Job) bool { return j.Queue == o.Queue }})
	}
	if !o.RunAt.IsZero() {
		tol := o.RunAtTolerance
		if tol <= 0 {
			tol = DefaultRunAtTolerance
		}
		conds = append(conds, condition{fmt.Sprintf("run at %s ± %v", o.RunAt.UTC().Format(time.RFC3339Nano), tol), func(j *backend.Job) bool {
			d := j.RunAt.Sub(o.RunAt)
			return !j.RunAt.IsZero() && d <= tol && d >= -tol
		}})
	}
	if o.BatchID != "" {
		conds = append(conds, condition{"batch " + show(o.BatchID), func(j *backend.Job) bool { return j.BatchID == o.BatchID }})
	}
	if len(o.Meta) > 0 {
		want := maps.Clone(o.Meta)
		keys := slices.Sorted(maps.Keys(want))
		var desc []string
		for _, k := range keys {
			desc = append(desc, show(k)+"="+show(want[k]))
		}
		conds = append(conds, condition{"meta ⊇ {" + strings.Join(desc, ", ") + "}", func(j *backend.Job) bool {
			for k, v := range want {
				if got, ok := j.Meta[k]; !ok || got != v {
					return false
				}
			}
			return true
		}})
	}
	if o.Match != nil {
		conds = append(conds, condition{"RequireOpts.Match", o.Match})
	}
	return conds, nil
}

func matches(conds []condition, j *backend.Job) bool {
	for _, c := range conds {
		if !c.ok(j) {
			return false
		}
	}
	return true
}

func describe(conds []condition) string {
	parts := make([]string, len(conds))
	for i, c := range conds {
		parts[i] = c.what
	}
	return strings.Join(parts, ", ")
}

// RequireEnqueued fails t unless exactly one enqueued job (waiting in a
// queue, scheduled, or waiting for a retry) matches expected and opts (see
// RequireOpts for the rule), and returns that job as its worker would see
// it; MaxRetries is then the job's own budget (0: its kind's default). On
// failure the message lists the jobs that were enqueued instead. opts may
// be nil. To check a Client's store, pass client.Backend().
func RequireEnqueued[T joblot.JobArgs](t testing.TB, store backend.Backend, expected T, opts *RequireOpts) *joblot.Job[T] {
	t.Helper()
	conds, err := conditions(expected, opts)
	if err != nil {
		t.Fatal(err)
		return nil
	}
	jobs := listEnqueued(t, store)
	var found []*listed
	for _, l := range jobs {
		if matches(conds, l.Job) {
			found = append(found, l)
		}
	}
	switch len(found) {
	case 1:
	case 0:
		t.Fatalf("joblottest: no enqueued job with %s; enqueued: %s", describe(conds), showJobs(jobs))
		return nil
	default:
		t.Fatalf("joblottest: %d enqueued jobs with %s, want 1 (RequireManyEnqueued checks several): %s", len(found), describe(conds), showJobs(found))
		return nil
	}
	job, err := typedJob(found[0].Job, expected)
	if err != nil {
		t.Fatal(err)
		return nil
	}
	return job
}

// RequireNotEnqueued fails t if any enqueued job matches expected and
// opts; the message lists the ones that do. opts may be nil.
func RequireNotEnqueued[T joblot.JobArgs](t testing.TB, store backend.Backend, expected T, opts *RequireOpts) {
	t.Helper()
	conds, err := conditions(expected, opts)
	if err != nil {
		t.Fatal(err)
		return
	}
	var found []*listed
	for _, l := range listEnqueued(t, store) {
		if matches(conds, l.Job) {
			found = append(found, l)
		}
	}
	if len(found) > 0 {
		t.Fatalf("joblottest: want no enqueued job with %s; found: %s", describe(conds), showJobs(found))
	}
}

// ExpectedJob is one expectation of RequireManyEnqueued: the job's args
// (its kind, and its fields under RequireOpts's rule) and optional opts.
type ExpectedJob struct {
	Args joblot.JobArgs
	Opts *RequireOpts
}

// RequireManyEnqueued fails t unless the enqueued jobs of the kinds named
// in expected are, in the order they were enqueued, exactly as many as
// expected and each matches its expectation. Jobs of other kinds are
// ignored. The order is by creation time (to the millisecond), then by
// position in the store (queue order, then scheduled and retry jobs by due
// time), which is enqueue order for jobs enqueued one after the other or
// in one EnqueueMany. It returns the matched jobs, in order.
func RequireManyEnqueued(t testing.TB, store backend.Backend, expected []ExpectedJob) []*backend.Job {
	t.Helper()
	kinds := map[string]bool{}
	conds := make([][]condition, len(expected))
	for i, e := range expected {
		if e.Args == nil {
			t.Fatalf("joblottest: expected job %d has nil Args", i)
			return nil
		}
		c, err := conditions(e.Args, e.Opts)
		if err != nil {
			t.Fatal(err)
			return nil
		}
		conds[i] = c
		kinds[e.Args.Kind()] = true
	}
	var got []*listed
	for _, l := range listEnqueued(t, store) {
		if kinds[l.Kind] {
			got = append(got, l)
		}
	}
	for i := range min(len(got), len(expected)) {
		if !matches(conds[i], got[i].Job) {
			t.Fatalf("joblottest: enqueued job %d does not have %s; enqueued of those kinds, in order: %s", i, describe(conds[i]), showJobs(got))
			return nil
		}
	}
	if len(got) != len(expected) {
		t.Fatalf("joblottest: %d jobs of the expected kinds enqueued, want %d; enqueued, in order: %s", len(got), len(expected), showJobs(got))
		return nil
	}
	out := make([]*backend.Job, len(got))
	for i, l := range got {
		out[i] = l.Job
	}
	return out
}

// listed is an enqueued job and the set it sits in.
type listed struct {
	*backend.Job
	set backend.JobSet
}

// listEnqueued reads the queued, scheduled and retry sets, in enqueue
// order (see RequireManyEnqueued).
func listEnqueued(t testing.TB, store backend.Backend) []*listed {
	t.Helper()
	ctx := t.Context()
	var out []*listed
	for _, set := range enqueuedSets {
		f := backend.JobFilter{Set: set, Limit: joblot.DefaultPageSize}
		for {
			page, err := store.ListJobs(ctx, f)
			if err != nil {
				t.Fatalf("joblottest: list %s jobs: %v", set, err)
				return nil
			}
			for _, j := range page.Jobs {
				out = append(out, &listed{Job: j, set: set})
			}
			if len(out) > maxListed {
				t.Fatalf("joblottest: more than %d jobs enqueued; assertions read at most that many", maxListed)
				return nil
			}
			if page.Next == "" {
				break
			}
			f.Cursor = page.Next
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].CreatedAt.Before(out[b].CreatedAt) })
	return out
}

// typedJob decodes a stored job into the worker's view of it.
func typedJob[T joblot.JobArgs](j *backend.Job, expected T) (*joblot.Job[T], error) {
	args, err := decodeArgs(j.Args, expected)
	if err != nil {
		return nil, fmt.Errorf("joblottest: job %s: decode %s args: %w", show(j.ID), show(j.Kind), err)
	}
	return &joblot.Job[T]{
		ID:            j.ID,
		Args:          args,
		Queue:         j.Queue,
		Attempt:       j.Attempt + 1,
		MaxRetries:    j.MaxRetries,
		CreatedAt:     j.CreatedAt,
		BatchID:       j.BatchID,
		CallbackOf:    j.CallbackOf,
		CallbackEvent: j.CallbackEvent,
		LastError:     j.ErrorMessage,
	}, nil
}

// decodeArgs decodes args into a T. When T is an interface (the caller
// passed expectations as joblot.JobArgs), it decodes into the dynamic
// type of expected.
func decodeArgs[T joblot.JobArgs](raw []byte, expected T) (T, error) {
	var args T
	if reflect.TypeFor[T]().Kind() != reflect.Interface {
		err := json.Unmarshal(raw, &args)
		return args, err
	}
	v := reflect.New(reflect.TypeOf(expected))
	if err := json.Unmarshal(raw, v.Interface()); err != nil {
		return args, err
	}
	return v.Elem().Interface().(T), nil
}

// argsMatch reports whether the JSON args hold every field of want (the
// rule RequireOpts describes). Args that are not JSON match nothing.
func argsMatch(want, got []byte) bool {
	w, err := decodeJSON(want)
	if err != nil {
		return false
	}
	g, err := decodeJSON(got)
	if err != nil {
		return false
	}
	return subset(w, g)
}

func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	return v, err
}

func subset(want, got any) bool {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return false
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok || !subset(wv, gv) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !subset(w[i], g[i]) {
				return false
			}
		}
		return true
	case json.Number:
		g, ok := got.(json.Number)
		return ok && numbersEqual(w, g)
	default: // string, bool, nil
		return want == got
	}
}

func numbersEqual(a, b json.Number) bool {
	if a == b {
		return true
	}
	x, okx := new(big.Rat).SetString(string(a))
	y, oky := new(big.Rat).SetString(string(b))
	return okx && oky && x.Cmp(y) == 0
}

// show makes a name from stored data safe and short for a message.
func show(s string) string { return termtext.Cell(fmt.Sprintf("%q", s), maxNameShown) }

// showJobs lists jobs for a failure message, one a line, at most maxShown.
func showJobs(jobs []*listed) string {
	if len(jobs) == 0 {
		return "none"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d job(s)", len(jobs))
	for i, j := range jobs {
		if i == maxShown {
			fmt.Fprintf(&b, "\n\t… and %d more", len(jobs)-maxShown)
			break
		}
		fmt.Fprintf(&b, "\n\t%-9s queue %s kind %s id %s", j.set, show(j.Queue), show(j.Kind), show(j.ID))
		if !j.RunAt.IsZero() {
			fmt.Fprintf(&b, " run_at %s", j.RunAt.UTC().Format(time.RFC3339Nano))
		}
		if j.BatchID != "" {
			fmt.Fprintf(&b, " batch %s", show(j.BatchID))
		}
		fmt.Fprintf(&b, " args %s", termtext.Cell(string(j.Args), maxArgsShown))
	}
	return b.String()
}
