package faultproxy

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// echo starts a line echo server and returns its address.
func echo(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	return ln.Addr().String()
}

func start(t *testing.T) *Proxy {
	t.Helper()
	p, err := Start(echo(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

type conn struct {
	net.Conn
	r *bufio.Reader
}

func dial(t *testing.T, p *Proxy) *conn {
	t.Helper()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &conn{Conn: c, r: bufio.NewReader(c)}
}

// roundTrip sends a line and reads it back, with a generous deadline.
func (c *conn) roundTrip(line string, wait time.Duration) (string, error) {
	if _, err := c.Write([]byte(line + "\n")); err != nil {
		return "", err
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	got, err := c.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	return got[:len(got)-1], nil
}

const generous = time.Minute

// silence is how long a test listens for data that must not come: a
// slower machine only makes the check weaker, never red.
const silence = 200 * time.Millisecond

func TestForwards(t *testing.T) {
	p := start(t)
	c := dial(t, p)
	if got, err := c.roundTrip("hello", generous); err != nil || got != "hello" {
		t.Fatalf("round trip = %q, %v", got, err)
	}
	p.SetLatency(20 * time.Millisecond)
	if got, err := c.roundTrip("slow", generous); err != nil || got != "slow" {
		t.Fatalf("round trip with latency = %q, %v", got, err)
	}
}

func TestResetAll(t *testing.T) {
	p := start(t)
	c := dial(t, p)
	if _, err := c.roundTrip("a", generous); err != nil {
		t.Fatal(err)
	}
	if n := p.ResetAll(); n != 1 {
		t.Fatalf("ResetAll closed %d connections, want 1", n)
	}
	if _, err := c.roundTrip("b", generous); err == nil {
		t.Fatal("a reset connection still answers")
	}
	// New connections work.
	if got, err := dial(t, p).roundTrip("c", generous); err != nil || got != "c" {
		t.Fatalf("after reset: %q, %v", got, err)
	}
}

func TestBlackholeHoldsTrafficUntilLifted(t *testing.T) {
	p := start(t)
	c := dial(t, p)
	if _, err := c.roundTrip("a", generous); err != nil {
		t.Fatal(err)
	}
	p.Blackhole()
	if _, err := c.roundTrip("b", silence); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("during a blackhole: %v, want a read timeout (nothing passes, nothing closes)", err)
	}
	fresh := dial(t, p) // accepted, not forwarded
	if _, err := fresh.roundTrip("x", silence); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("new connection during a blackhole: %v, want a read timeout", err)
	}
	p.Lift()
	_ = c.SetReadDeadline(time.Now().Add(generous))
	if got, err := c.r.ReadString('\n'); err != nil || got != "b\n" {
		t.Fatalf("after lift: %q, %v; want the held line", got, err)
	}
	_ = fresh.SetReadDeadline(time.Now().Add(generous))
	if got, err := fresh.r.ReadString('\n'); err != nil || got != "x\n" {
		t.Fatalf("new connection after lift: %q, %v", got, err)
	}
}

func TestHalfOpenIsSilentForever(t *testing.T) {
	p := start(t)
	c := dial(t, p)
	if _, err := c.roundTrip("a", generous); err != nil {
		t.Fatal(err)
	}
	if n := p.HalfOpenAll(); n != 1 {
		t.Fatalf("HalfOpenAll affected %d connections, want 1", n)
	}
	// No answer, and no FIN or RST either: only a timeout.
	if _, err := c.roundTrip("b", silence); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("half-open connection: %v, want a read timeout", err)
	}
	if got, err := dial(t, p).roundTrip("c", generous); err != nil || got != "c" {
		t.Fatalf("new connection after half-open: %q, %v", got, err)
	}
}
