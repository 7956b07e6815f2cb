package remote

import (
	"context"

	"github.com/joblot/joblot/backend"
)

// FirePeriodic implements backend.Backend.
func (c *Client) FirePeriodic(ctx context.Context, p backend.FirePeriodicParams) (backend.FirePeriodicResult, error) {
	return call[backend.FirePeriodicParams, backend.FirePeriodicResult](ctx, c, "FirePeriodic", p)
}

// SetPeriodic implements backend.Backend.
func (c *Client) SetPeriodic(ctx context.Context, defs []backend.PeriodicDef) error {
	_, err := call[[]backend.PeriodicDef, empty](ctx, c, "SetPeriodic", defs)
	return err
}

// ListPeriodic implements backend.Backend.
func (c *Client) ListPeriodic(ctx context.Context) ([]backend.PeriodicState, error) {
	return call[empty, []backend.PeriodicState](ctx, c, "ListPeriodic", empty{})
}
