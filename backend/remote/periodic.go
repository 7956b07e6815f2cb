package remote

import (
	"context"

	"github.com/joblot/joblot/backend"
)

// FirePeriodic implements backend.Backend.
func (c *Client) FirePeriodic(ctx context.Context, p backend.FirePeriodicParams) (backend.FirePeriodicResult, error) {
	var resp firePeriodicResp
	err := c.call(ctx, "FirePeriodic", firePeriodicReq{Name: p.Name, Queue: p.Queue, Instant: p.Instant, Job: p.Job}, &resp)
	return backend.FirePeriodicResult{Recorded: resp.Recorded, Previous: resp.Previous}, err
}

// SetPeriodic implements backend.Backend.
func (c *Client) SetPeriodic(ctx context.Context, defs []backend.PeriodicDef) error {
	return c.call(ctx, "SetPeriodic", setPeriodicReq{Defs: defs}, &empty{})
}

// ListPeriodic implements backend.Backend.
func (c *Client) ListPeriodic(ctx context.Context) ([]backend.PeriodicState, error) {
	var resp []backend.PeriodicState
	if err := c.call(ctx, "ListPeriodic", empty{}, &resp); err != nil {
		return nil, err
	}
	return resp, nil
}
