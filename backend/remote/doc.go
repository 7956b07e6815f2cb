// Package remote carries the backend.Backend seam over a local endpoint, so
// that the CLI can work against an embedded store that another process
// owns.
//
// bbolt takes an exclusive lock on its file: only one process can open it.
// That process, the owner, calls Listen and Serve next to its store; any
// other process on the machine calls Dial and gets a *Client, a
// backend.Backend whose every method is answered by the owner's backend.
// With no owner running, Dial fails with an error wrapping ErrNoOwner and
// the caller opens the file itself.
//
// # Local only
//
// The endpoint is a unix socket next to the store file (SocketPath), mode
// 0600, created in a private directory and linked into place once
// restricted. Whoever may open the socket may do anything the owner's
// backend can, exactly as if they could open the store file, so both ends
// check the other's user: the owner accepts connections from its own user
// and root only, and Dial refuses, before sending anything, an endpoint
// whose process (SO_PEERCRED on Linux) or socket file belongs to another
// user than the caller's (or Dialer.AllowOwner), or whose socket is a
// symbolic link or writable by others (errors wrapping
// backend.ErrUntrusted). Never expose it over a network.
//
// # Limits
//
// A request body is bounded (Server.MaxRequestBytes, 16 MiB by default; a
// larger one is refused with ErrRequestTooLarge) and must arrive within
// Server.BodyTimeout once its header has. The owner announces its limit at
// Dial, and Client splits the calls that carry many jobs (Enqueue,
// AddToBatch, Complete) into requests that fit.
//
// # Protocol
//
// HTTP/1.1 over the socket, one POST per method to /v1/<Method> with a JSON
// request body; the answer is 200 with a JSON result, or an error status with
// a JSON body {"code": ..., "message": ...}. The body and the result are the
// method's own backend.XParams and backend.XResult (or its one positional
// value, or a pair of them): Server.routes registers each method in one
// line, and each Client method is one generic call. The code names the sentinel
// error (backend.ErrBatchNotFound, context.Canceled, ...) so that errors.Is
// holds on the client side. JSON carries time.Time (RFC 3339 with
// nanoseconds) and []byte (base64) exactly. A POST to /v1/Hello at Dial
// checks the protocol version and learns the served backend's capabilities.
package remote
