package remote

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/joblot/joblot/backend"
)

// Client is a backend.Backend whose every method is answered by the process
// that owns the store (see Serve). It is safe for concurrent use; concurrent
// calls use separate connections.
//
// A call that fails because the owner is gone returns an error wrapping
// ErrNoOwner; if the owner went away after the call was sent, the call may
// or may not have taken effect, and the message says so.
type Client struct {
	path   string // socket path
	http   *http.Client
	memory bool // the served backend is a backend.MemoryReporter
	pid    int  // the owner's process id
}

var _ backend.Backend = (*Client)(nil)

// maxIdleConns bounds the connections a Client keeps open between calls.
const maxIdleConns = 16

// Dial connects to the process that serves the store at dbPath. It fails
// with an error wrapping ErrNoOwner when nobody does (no socket, or a stale
// one), in which case the caller may open the store file itself.
func Dial(ctx context.Context, dbPath string) (*Client, error) {
	path := SocketPath(dbPath)
	dialer := &net.Dialer{}
	c := &Client{
		path: path,
		http: &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, "unix", path)
			},
			MaxIdleConns:        maxIdleConns,
			MaxIdleConnsPerHost: maxIdleConns,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		}},
	}
	var hello helloResp
	if err := c.call(ctx, "Hello", empty{}, &hello); err != nil {
		c.Close()
		return nil, err
	}
	if hello.Protocol != protocolVersion {
		c.Close()
		return nil, fmt.Errorf("joblot: the process serving %s (pid %d) speaks protocol %d, this joblot speaks %d: use the same joblot version", dbPath, hello.PID, hello.Protocol, protocolVersion)
	}
	c.memory, c.pid = hello.Memory, hello.PID
	return c, nil
}

// Close closes the client's connections. It does not close the served
// backend, which belongs to its owner.
func (c *Client) Close() error {
	c.http.CloseIdleConnections()
	return nil
}

// OwnerPID is the process id of the owner that answered at Dial.
func (c *Client) OwnerPID() int { return c.pid }

// Backend returns c as a backend.Backend that also implements
// backend.MemoryReporter when the served backend does, for callers that
// discover capabilities by type assertion.
func (c *Client) Backend() backend.Backend {
	if c.memory {
		return memoryClient{c}
	}
	return c
}

// memoryClient is a Client whose served backend reports memory.
type memoryClient struct{ *Client }

var _ backend.MemoryReporter = memoryClient{}

// Memory implements backend.MemoryReporter.
func (m memoryClient) Memory(ctx context.Context) (backend.MemoryInfo, error) {
	var resp backend.MemoryInfo
	err := m.call(ctx, "Memory", empty{}, &resp)
	return resp, err
}

// call POSTs req to /v1/method and decodes the answer into resp, or returns
// the error the owner's backend returned.
func (c *Client) call(ctx context.Context, method string, req, resp any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("joblot: remote %s: encode request: %w", method, err)
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://joblot/v1/"+method, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("joblot: remote %s: %w", method, err)
	}
	hreq.Header.Set("Content-Type", "application/json")
	hresp, err := c.http.Do(hreq)
	if err != nil {
		return c.transportError(ctx, method, err)
	}
	defer hresp.Body.Close()
	if hresp.StatusCode != http.StatusOK {
		var we wireError
		if err := json.NewDecoder(hresp.Body).Decode(&we); err != nil {
			return fmt.Errorf("joblot: remote %s: status %s with an unreadable error: %w", method, hresp.Status, err)
		}
		return decodeError(&we)
	}
	if err := json.NewDecoder(hresp.Body).Decode(resp); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("joblot: remote %s: %w", method, ctx.Err())
		}
		return fmt.Errorf("joblot: remote %s: reading the answer of the owner of %s failed, the call may or may not have taken effect: %w (%w)", method, c.path, err, ErrNoOwner)
	}
	_, _ = io.Copy(io.Discard, hresp.Body) // lets the connection be reused
	return nil
}

// transportError explains an HTTP failure: the caller's context, nobody
// listening (nothing was sent), or an owner that went away mid-call.
func (c *Client) transportError(ctx context.Context, method string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("joblot: remote %s: %w", method, ctxErr)
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return fmt.Errorf("joblot: remote %s: nobody serves %s (%v): %w", method, c.path, op.Err, ErrNoOwner)
		}
		return fmt.Errorf("joblot: remote %s: connect to %s: %w", method, c.path, err)
	}
	return fmt.Errorf("joblot: remote %s: the owner of %s went away, the call may or may not have taken effect: %w (%w)", method, c.path, err, ErrNoOwner)
}
