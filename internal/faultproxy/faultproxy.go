// Package faultproxy is a TCP proxy that injects network faults between
// joblot processes and Redis: latency spikes, connection resets, a
// blackhole (nothing passes, nothing is refused, until it lifts) and
// half-open connections (the far side vanished without a FIN or RST, so
// only the client's own timeouts can notice). The fault harness and the
// tests put it on the path of the worker processes.
package faultproxy

import (
	"fmt"
	"io"
	"net"
	"sync"
	"time"
)

// bufSize is the size of one forwarded chunk.
const bufSize = 32 << 10

// dialTimeout bounds the dial of the upstream for a new connection.
const dialTimeout = 5 * time.Second

// Proxy forwards every connection accepted on Addr to a target address,
// subject to the faults currently set. Its methods are safe for concurrent
// use.
type Proxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	links   map[*link]struct{}
	latency time.Duration
	// open is closed while traffic flows; while a blackhole is on it is a
	// fresh channel that Lift closes.
	open   chan struct{}
	closed bool
	wg     sync.WaitGroup
}

// link is one proxied connection.
type link struct {
	client net.Conn
	mu     sync.Mutex
	// upstream is set once the dial succeeded.
	upstream net.Conn
	// silent is closed when the link turns half-open: from then on
	// nothing passes in either direction and neither end is closed.
	silent chan struct{}
	once   sync.Once
}

// Start listens on a free loopback port and forwards to target.
func Start(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("faultproxy: listen: %w", err)
	}
	open := make(chan struct{})
	close(open)
	p := &Proxy{ln: ln, target: target, links: map[*link]struct{}{}, open: open}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetTarget changes where new connections go (existing ones keep their
// upstream), e.g. after the target restarted on another port.
func (p *Proxy) SetTarget(target string) {
	p.mu.Lock()
	p.target = target
	p.mu.Unlock()
}

// SetLatency delays every forwarded chunk, in both directions, by d
// (0 turns the spike off).
func (p *Proxy) SetLatency(d time.Duration) {
	p.mu.Lock()
	p.latency = d
	p.mu.Unlock()
}

// Blackhole stops all traffic: bytes already sent wait in the kernel
// buffers, new connections are accepted but not forwarded, nothing is
// refused or closed, as when a network path silently drops packets. Lift
// ends it, and what waited then flows (as TCP retransmission would deliver
// it), unless an end gave up and closed its connection meanwhile.
func (p *Proxy) Blackhole() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.open:
		p.open = make(chan struct{})
	default: // already on
	}
}

// Lift ends a blackhole.
func (p *Proxy) Lift() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.open:
	default:
		close(p.open)
	}
}

// ResetAll closes every current connection abruptly (an RST to the
// client, as when a middlebox or the server drops it) and returns how many
// it closed. New connections are served as usual.
func (p *Proxy) ResetAll() int {
	p.mu.Lock()
	links := make([]*link, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	p.mu.Unlock()
	for _, l := range links {
		if tc, ok := l.client.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // close sends RST, not FIN
		}
		l.close()
	}
	return len(links)
}

// HalfOpenAll turns every current connection half-open: the upstream side
// is dropped, and the client side stays open but silent forever (until
// Close), so the client sees neither data nor a FIN nor an RST. It returns
// how many connections it affected. New connections are served as usual.
func (p *Proxy) HalfOpenAll() int {
	p.mu.Lock()
	n := 0
	for l := range p.links {
		l.once.Do(func() { close(l.silent) })
		n++
	}
	p.mu.Unlock()
	return n
}

// Conns returns how many connections the proxy currently holds.
func (p *Proxy) Conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.links)
}

// Close stops accepting, closes every connection and waits for the
// forwarding goroutines.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	links := make([]*link, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	p.mu.Unlock()
	p.Lift()
	err := p.ln.Close()
	for _, l := range links {
		l.close()
	}
	p.wg.Wait()
	return err
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.wg.Add(1)
		go p.serve(c)
	}
}

// gate blocks until traffic may flow on l; false means l must stop.
func (p *Proxy) gate(l *link) (time.Duration, bool) {
	p.mu.Lock()
	open, lat, closed := p.open, p.latency, p.closed
	p.mu.Unlock()
	if closed {
		return 0, false
	}
	select {
	case <-open:
	case <-l.silent:
		return 0, false
	}
	select {
	case <-l.silent:
		return 0, false
	default:
	}
	return lat, true
}

func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	l := &link{client: client, silent: make(chan struct{})}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		_ = client.Close()
		return
	}
	p.links[l] = struct{}{}
	target := p.target
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.links, l)
		p.mu.Unlock()
	}()

	// A connection made during a blackhole waits for it to lift before
	// it reaches the upstream at all.
	if _, ok := p.gate(l); !ok {
		p.holdSilent(l)
		return
	}
	up, err := net.DialTimeout("tcp", target, dialTimeout)
	if err != nil {
		_ = client.Close()
		return
	}
	l.mu.Lock()
	l.upstream = up
	l.mu.Unlock()

	done := make(chan struct{}, 2)
	go func() { p.pipe(l, up, client); done <- struct{}{} }()
	go func() { p.pipe(l, client, up); done <- struct{}{} }()
	<-done
	select {
	case <-l.silent:
		_ = up.Close()
		<-done
		p.holdSilent(l)
		return
	default:
	}
	l.close()
	<-done
}

// holdSilent keeps a half-open link's client side open, unread and
// unanswered, until the client closes it or the proxy closes.
func (p *Proxy) holdSilent(l *link) {
	l.mu.Lock()
	if l.upstream != nil {
		_ = l.upstream.Close()
	}
	l.mu.Unlock()
	// Reading detects the client's own close; whatever it sends is
	// dropped, as a vanished peer would.
	_, _ = io.Copy(io.Discard, l.client)
	_ = l.client.Close()
}

// pipe copies src to dst chunk by chunk through the gate.
func (p *Proxy) pipe(l *link, dst, src net.Conn) {
	buf := make([]byte, bufSize)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			lat, ok := p.gate(l)
			if !ok {
				return
			}
			if lat > 0 {
				select {
				case <-time.After(lat):
				case <-l.silent:
					return
				}
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return // EOF or error: serve closes both sides
		}
	}
}

func (l *link) close() {
	_ = l.client.Close()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.upstream != nil {
		_ = l.upstream.Close()
	}
}
