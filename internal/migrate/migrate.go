// Package migrate is the machinery of data-model migrations shared by the
// backends (the deploy order and the guarantees are in package backend's
// MigrationReport doc): a step registry, the plan from a store's version
// to DataModelVersion, and the run that records each finished step.
package migrate

import (
	"context"
	"fmt"

	"github.com/joblot/joblot/backend"
)

// Step upgrades a store of type S from data model From to From+1.
//
// A step must be idempotent and resumable: it may be interrupted anywhere
// and run again from the start, and readers of version From+1 must accept
// what it leaves half-done meanwhile (readers accept the previous
// version). The version record moves to From+1 only after the step has
// finished, so an interrupted migration is resumed by running it again.
type Step[S any] struct {
	From    int
	Summary string
	Run     func(ctx context.Context, store S) error
}

// Plan returns the steps that take a store from version from to version
// to, in order, or an error naming the first missing step.
func Plan[S any](steps []Step[S], from, to int) ([]Step[S], error) {
	var plan []Step[S]
	for v := from; v < to; v++ {
		i := -1
		for k, s := range steps {
			if s.From == v {
				i = k
				break
			}
		}
		if i < 0 {
			return nil, fmt.Errorf("no migration from data model %d to %d: this joblot cannot upgrade the store", v, v+1)
		}
		plan = append(plan, steps[i])
	}
	return plan, nil
}

// Store is what Run needs of one store.
type Store[S any] struct {
	// Desc describes the store in reports and errors.
	Desc string
	// Target is handed to each step.
	Target S
	// Version reads the recorded data-model version (0: none).
	Version func(ctx context.Context) (int, error)
	// Record writes version v after its step finished.
	Record func(ctx context.Context, v int) error
}

// Run migrates st to backend.DataModelVersion with steps (a dry run only
// plans). A store with a newer version is refused with an error wrapping
// backend.ErrVersionTooNew; one with no version needs nothing. On error it
// returns the report so far with the error; running again resumes.
func Run[S any](ctx context.Context, st Store[S], steps []Step[S], opts backend.MigrateOptions) (*backend.MigrationReport, error) {
	return run(ctx, st, steps, backend.DataModelVersion, opts)
}

// run is Run towards version current (tests inject a chain and its end).
func run[S any](ctx context.Context, st Store[S], steps []Step[S], current int, opts backend.MigrateOptions) (*backend.MigrationReport, error) {
	res := &backend.MigrationReport{Store: st.Desc, Current: current, DryRun: opts.DryRun, Steps: []string{}}
	v, err := st.Version(ctx)
	if err != nil {
		return nil, err
	}
	res.Version = v
	if v > res.Current {
		return nil, fmt.Errorf("%s has data model %d, this joblot knows %d: %w", st.Desc, v, res.Current, backend.ErrVersionTooNew)
	}
	if v == 0 {
		return res, nil
	}
	plan, err := Plan(steps, v, res.Current)
	if err != nil {
		return res, err
	}
	for _, s := range plan {
		res.Steps = append(res.Steps, fmt.Sprintf("%d → %d: %s", s.From, s.From+1, s.Summary))
	}
	if opts.DryRun || len(plan) == 0 {
		return res, nil
	}
	for _, s := range plan {
		if err := s.Run(ctx, st.Target); err != nil {
			return res, fmt.Errorf("migration %d → %d: %w (running migrate again resumes)", s.From, s.From+1, err)
		}
		if err := st.Record(ctx, s.From+1); err != nil {
			return res, fmt.Errorf("record data model %d: %w (running migrate again resumes)", s.From+1, err)
		}
	}
	res.Applied = true
	return res, nil
}
