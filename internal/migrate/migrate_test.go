package migrate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/joblot/joblot/backend"
)

// The planner chains steps from a version to the current one and names a
// missing step; its input here is a test chain, not registered steps.
func TestPlan(t *testing.T) {
	steps := []Step[int]{{From: 2, Summary: "b"}, {From: 1, Summary: "a"}, {From: 3, Summary: "c"}}
	plan, err := Plan(steps, 1, 4)
	if err != nil || len(plan) != 3 || plan[0].Summary != "a" || plan[1].Summary != "b" || plan[2].Summary != "c" {
		t.Errorf("plan 1 → 4: %+v, %v", plan, err)
	}
	if plan, err := Plan(steps, 4, 4); err != nil || len(plan) != 0 {
		t.Errorf("plan 4 → 4: %+v, %v", plan, err)
	}
	if _, err := Plan(steps[:2], 1, 4); err == nil || !strings.Contains(err.Error(), "no migration from data model 3 to 4") {
		t.Errorf("plan with a gap: %v", err)
	}
}

// fakeStore is a store whose data is a log of the steps run and whose
// version record is an int.
type fakeStore struct {
	version int
	ran     []int
	failAt  int // a step From that fails once (0: none)
}

func (f *fakeStore) store() Store[*fakeStore] {
	return Store[*fakeStore]{
		Desc:    "fake",
		Target:  f,
		Version: func(context.Context) (int, error) { return f.version, nil },
		Record:  func(_ context.Context, v int) error { f.version = v; return nil },
	}
}

// current is the data model of the injected chains: version 1 is the
// only real one, so the machinery is tested against a pretend version 4.
const current = 4

// steps returns a chain from version from to current, as a newer joblot
// would register them.
func steps(from int) []Step[*fakeStore] {
	var out []Step[*fakeStore]
	for v := from; v < current; v++ {
		out = append(out, Step[*fakeStore]{From: v, Summary: fmt.Sprintf("to %d", v+1), Run: func(_ context.Context, f *fakeStore) error {
			if f.failAt == v {
				f.failAt = 0
				return errors.New("interrupted")
			}
			f.ran = append(f.ran, v)
			return nil
		}})
	}
	return out
}

// Run applies an injected chain in order and records each version; a dry
// run plans the same and changes nothing; an interrupted step leaves the
// version at the last finished step and running again resumes.
func TestRun(t *testing.T) {
	ctx := context.Background()
	f := &fakeStore{version: 1}
	dry, err := run(ctx, f.store(), steps(1), current, backend.MigrateOptions{DryRun: true})
	if err != nil || !slices.Equal(dry.Steps, []string{"1 → 2: to 2", "2 → 3: to 3", "3 → 4: to 4"}) || dry.Applied || !dry.DryRun || f.version != 1 || len(f.ran) != 0 {
		t.Fatalf("dry run: %+v, %v; store %+v", dry, err, f)
	}
	f.failAt = 2
	res, err := run(ctx, f.store(), steps(1), current, backend.MigrateOptions{})
	if err == nil || !strings.Contains(err.Error(), "migration 2 → 3: interrupted (running migrate again resumes)") || res.Applied || f.version != 2 || !slices.Equal(f.ran, []int{1}) {
		t.Fatalf("interrupted run: %+v, %v; store %+v", res, err, f)
	}
	res, err = run(ctx, f.store(), steps(1), current, backend.MigrateOptions{})
	if err != nil || !res.Applied || res.Version != 2 || len(res.Steps) != 2 || f.version != current || !slices.Equal(f.ran, []int{1, 2, 3}) {
		t.Fatalf("resumed run: %+v, %v; store %+v", res, err, f)
	}
	res, err = run(ctx, f.store(), steps(1), current, backend.MigrateOptions{})
	if err != nil || res.Applied || len(res.Steps) != 0 || len(f.ran) != 3 {
		t.Errorf("run on an up-to-date store: %+v, %v", res, err)
	}
}

func TestRunRefusesNewerAndSkipsEmpty(t *testing.T) {
	ctx := context.Background()
	f := &fakeStore{version: backend.DataModelVersion + 1}
	if _, err := Run(ctx, f.store(), nil, backend.MigrateOptions{}); !errors.Is(err, backend.ErrVersionTooNew) {
		t.Errorf("newer store: %v", err)
	}
	f = &fakeStore{}
	res, err := run(ctx, f.store(), steps(1), current, backend.MigrateOptions{})
	if err != nil || res.Version != 0 || res.Applied || len(res.Steps) != 0 || f.version != 0 {
		t.Errorf("store with no version: %+v, %v; store %+v", res, err, f)
	}
	// A gap in the chain is named and nothing runs.
	f = &fakeStore{version: 1}
	if _, err := run(ctx, f.store(), steps(2), current, backend.MigrateOptions{}); err == nil || len(f.ran) != 0 || f.version != 1 {
		t.Errorf("chain with a gap: %v; store %+v", err, f)
	}
}
