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
	"os"
	"syscall"
	"time"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/internal/trust"
)

// Client is a backend.Backend whose every method is answered by the process
// that owns the store (see Serve). It is safe for concurrent use; concurrent
// calls use separate connections.
//
// A call that fails because the owner is gone returns an error wrapping
// ErrNoOwner; if the owner went away after the call was sent, the call may
// or may not have taken effect, and the message says so.
type Client struct {
	path       string // socket path
	http       *http.Client
	memory     bool  // the served backend is a backend.MemoryReporter
	pid        int   // the owner's process id
	maxRequest int64 // the largest request body the owner accepts
}

var _ backend.Backend = (*Client)(nil)

// maxIdleConns bounds the connections a Client keeps open between calls.
const maxIdleConns = 16

// clientIdleTimeout is how long a Client keeps an idle connection.
const clientIdleTimeout = time.Minute

// Dialer connects to the process that owns a store. The zero Dialer trusts
// only an owner that runs as this process's own user.
type Dialer struct {
	// AllowOwner names one more user (a login name or a numeric uid) whose
	// endpoint Dial trusts, besides the process's own effective uid.
	// Default "": an endpoint served by another user's process, or whose
	// socket another user owns or may write, is refused.
	AllowOwner string
}

// Dial is the zero Dialer's Dial.
func Dial(ctx context.Context, dbPath string) (*Client, error) {
	return Dialer{}.Dial(ctx, dbPath)
}

// Dial connects to the process that serves the store at dbPath. It fails
// with an error wrapping ErrNoOwner when nobody does (no socket, or a stale
// one), in which case the caller may open the store file itself.
//
// Every connection is checked before anything is sent on it: the process
// at the other end (where the platform tells, else the socket file's owner)
// must run as a trusted user (see Dialer), and the socket must be no
// symbolic link nor writable by group or others. An endpoint that fails
// the check is refused with an error wrapping backend.ErrUntrusted (and not
// ErrNoOwner: the caller must not take the store over either).
func (d Dialer) Dial(ctx context.Context, dbPath string) (*Client, error) {
	owners, err := trust.New(d.AllowOwner)
	if err != nil {
		return nil, err
	}
	return dial(ctx, dbPath, owners)
}

// dial is Dial trusting owners.
func dial(ctx context.Context, dbPath string, owners trust.Policy) (*Client, error) {
	path := SocketPath(dbPath)
	dialer := &net.Dialer{}
	c := &Client{
		path:       path,
		maxRequest: DefaultMaxRequestBytes,
		http: &http.Client{Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return connect(ctx, dialer, path, owners)
			},
			MaxIdleConns:        maxIdleConns,
			MaxIdleConnsPerHost: maxIdleConns,
			IdleConnTimeout:     clientIdleTimeout,
			DisableCompression:  true,
		}},
	}
	hello, err := call[empty, helloResp](ctx, c, "Hello", empty{})
	if err != nil {
		c.Close()
		return nil, err
	}
	if hello.Protocol != protocolVersion {
		c.Close()
		return nil, fmt.Errorf("joblot: the process serving %s (pid %d) speaks protocol %d, this joblot speaks %d: use the same joblot version", dbPath, hello.PID, hello.Protocol, protocolVersion)
	}
	c.memory, c.pid = hello.Memory, hello.PID
	if hello.MaxRequest > 0 {
		c.maxRequest = hello.MaxRequest
	}
	return c, nil
}

// connect opens one connection to the socket at path and checks, before
// anything is sent, that a trusted user's process serves it. A failed check
// is reported as a failed dial: nothing was sent.
func connect(ctx context.Context, d *net.Dialer, path string, owners trust.Policy) (net.Conn, error) {
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, err
	}
	err = owners.CheckPeer(conn, path)
	if err == nil {
		var fi os.FileInfo
		if fi, err = os.Lstat(path); err == nil {
			err = owners.CheckFile(path, fi)
		}
	}
	if err != nil {
		_ = conn.Close()
		return nil, &net.OpError{Op: "dial", Net: "unix", Addr: &net.UnixAddr{Name: path, Net: "unix"}, Err: err}
	}
	return conn, nil
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
	return call[empty, backend.MemoryInfo](ctx, m.Client, "Memory", empty{})
}

// call POSTs p to /v1/method and returns the owner's answer, or the error
// the owner's backend returned. A request larger than the owner accepts is
// not sent: the error wraps ErrRequestTooLarge.
func call[P, R any](ctx context.Context, c *Client, method string, p P) (R, error) {
	var res R
	body, err := json.Marshal(p)
	if err != nil {
		return res, fmt.Errorf("joblot: remote %s: encode request: %w", method, err)
	}
	if int64(len(body)) > c.maxRequest {
		return res, fmt.Errorf("joblot: remote %s: the request is %d bytes, more than the %d the owner accepts: %w", method, len(body), c.maxRequest, ErrRequestTooLarge)
	}
	err = c.send(ctx, method, body, &res)
	return res, err
}

// send POSTs the encoded request body to /v1/method (see call).
func (c *Client) send(ctx context.Context, method string, body []byte, resp any) error {
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
	if hresp.StatusCode == http.StatusNotFound {
		// Every method is served with a JSON answer: a plain 404 is an
		// owner that predates the method.
		return fmt.Errorf("joblot: remote %s: the process serving %s (pid %d) runs an older joblot that lacks this call: %w", method, c.path, c.pid, errors.ErrUnsupported)
	}
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
	if errors.Is(err, backend.ErrUntrusted) {
		var op *net.OpError
		if errors.As(err, &op) {
			err = op.Err
		}
		return fmt.Errorf("joblot: remote %s: refusing the endpoint: %w", method, err)
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
