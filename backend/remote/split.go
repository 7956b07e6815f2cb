package remote

import (
	"context"
	"encoding/json"
	"fmt"
)

// envelopeSlack covers what the framing of one request may gain over the
// empty request's encoding (the brackets, a longer Seq).
const envelopeSlack = 64

// callSplit makes a call whose params p carry n items (jobs, results). It
// sends p as one request when it fits the owner's limit (the usual case,
// encoded once), and otherwise as consecutive requests part(lo, hi), the
// params of items lo to hi, packed greedily by each item's encoded size
// (item(i)). Nothing is sent when a single item alone does not fit: the
// error wraps ErrRequestTooLarge.
//
// got is called with each request's range and result, also when the
// request failed. When a request after the first fails, the error says how
// many items the earlier ones carried: those took effect.
func callSplit[P, R any](ctx context.Context, c *Client, method string, p P, n int,
	part func(lo, hi int) P, item func(i int) any, got func(lo, hi int, res R)) error {
	body, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("joblot: remote %s: encode request: %w", method, err)
	}
	if int64(len(body)) <= c.maxRequest {
		var res R
		err := c.send(ctx, method, body, &res)
		got(0, n, res)
		return err
	}
	empty, err := json.Marshal(part(0, 0))
	if err != nil {
		return fmt.Errorf("joblot: remote %s: encode request: %w", method, err)
	}
	bounds, err := c.pack(method, n, len(empty), item)
	if err != nil {
		return err
	}
	for k, lo := range bounds[:len(bounds)-1] {
		hi := bounds[k+1]
		res, err := call[P, R](ctx, c, method, part(lo, hi))
		got(lo, hi, res)
		if err != nil {
			if lo == 0 {
				return err
			}
			return fmt.Errorf("joblot: remote %s: the call was split into requests the owner accepts; the first %d of %d items were sent and took effect, the rest failed: %w", method, lo, n, err)
		}
	}
	return nil
}

// pack returns the boundaries 0 = b0 < b1 < ... = n of runs of items that
// each fit in one request whose params without items encode to emptyLen
// bytes, or an error wrapping ErrRequestTooLarge naming the first item too
// large alone.
func (c *Client) pack(method string, n, emptyLen int, item func(i int) any) ([]int, error) {
	budget := c.maxRequest - int64(emptyLen) - envelopeSlack
	bounds := []int{0}
	var used int64
	for i := range n {
		b, err := json.Marshal(item(i))
		if err != nil {
			return nil, fmt.Errorf("joblot: remote %s: encode item %d: %w", method, i, err)
		}
		size := int64(len(b)) + 1 // and its comma
		if size > budget {
			return nil, fmt.Errorf("joblot: remote %s: item %d alone encodes to %d bytes, more than the %d bytes the owner accepts in one request; nothing was sent: %w", method, i, len(b), c.maxRequest, ErrRequestTooLarge)
		}
		if used+size > budget {
			bounds = append(bounds, i)
			used = 0
		}
		used += size
	}
	return append(bounds, n), nil
}
