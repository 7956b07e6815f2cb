package redistest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// SentinelMasterName is the name a Sentinel started by StartSentinel
// monitors its master under.
const SentinelMasterName = "mymaster"

// Sentinel is a running redis-server in sentinel mode, owned by one test,
// monitoring one master.
type Sentinel struct {
	// Addr is the sentinel's host:port.
	Addr string
	// URL is redis-sentinel://host:port/mymaster: the address a client
	// gives to discover the master through this sentinel.
	URL string
	// Master is the monitored server.
	Master *Server

	proc *Server
}

// StartSentinel starts a sentinel monitoring master (quorum 1) and waits
// until it reports the master as up, so a client that asks it for the
// master gets a live one. The sentinel is killed at t.Cleanup.
func StartSentinel(t testing.TB, master *Server) *Sentinel {
	t.Helper()
	s, err := startSentinel(t.TempDir(), master)
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

func startSentinel(dir string, master *Server) (*Sentinel, error) {
	bin := Binary()
	if bin == "" {
		return nil, fmt.Errorf("redis-server not found in PATH (install it: apt-get install -y redis-server)")
	}
	mhost, mport, err := net.SplitHostPort(master.Addr)
	if err != nil {
		return nil, fmt.Errorf("master address %q: %w", master.Addr, err)
	}
	var lastErr error
	for try := 0; try < 5; try++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		// Sentinel refuses to start without a writable config file: it
		// rewrites it with what it learns about the master.
		conf := filepath.Join(dir, "sentinel.conf")
		lines := []string{
			"port " + strconv.Itoa(port),
			"bind 127.0.0.1",
			"daemonize no",
			"dir " + dir,
			"logfile " + filepath.Join(dir, "sentinel.log"),
			fmt.Sprintf("sentinel monitor %s %s %s 1", SentinelMasterName, mhost, mport),
			"sentinel down-after-milliseconds " + SentinelMasterName + " 5000",
		}
		if err := os.WriteFile(conf, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			return nil, fmt.Errorf("write sentinel config: %w", err)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		proc, err := newServer(exec.Command(bin, conf, "--sentinel"), addr, dir)
		if err != nil {
			return nil, fmt.Errorf("start redis-server --sentinel: %w", err)
		}
		if lastErr = proc.waitReady(readyTimeout); lastErr != nil {
			proc.Stop() // most likely the port was taken: try another
			continue
		}
		s := &Sentinel{
			Addr:   addr,
			URL:    "redis-sentinel://" + addr + "/" + SentinelMasterName,
			Master: master,
			proc:   proc,
		}
		if err := s.waitMaster(clusterTimeout); err != nil {
			s.Stop()
			return nil, err
		}
		return s, nil
	}
	return nil, fmt.Errorf("redis sentinel did not become ready: %w", lastErr)
}

// Stop kills the sentinel (not the master) and waits for it.
func (s *Sentinel) Stop() { s.proc.Stop() }

// Do sends one command to the sentinel (see Server.Do).
func (s *Sentinel) Do(args ...string) (string, error) { return s.proc.Do(args...) }

// MasterState returns the sentinel's view of its master: the fields of
// SENTINEL MASTER mymaster (ip, port, flags, ...).
func (s *Sentinel) MasterState() (map[string]string, error) {
	out, err := s.Do("SENTINEL", "MASTER", SentinelMasterName)
	if err != nil {
		return nil, err
	}
	parts := strings.Split(out, "\n")
	if len(parts)%2 != 0 {
		return nil, fmt.Errorf("SENTINEL MASTER: odd reply %q", out)
	}
	m := make(map[string]string, len(parts)/2)
	for i := 0; i < len(parts); i += 2 {
		m[parts[i]] = parts[i+1]
	}
	return m, nil
}

// waitMaster polls until the sentinel has a link to the master and flags it
// as a plain, reachable master (no "disconnected", no "s_down").
func (s *Sentinel) waitMaster(d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		m, err := s.MasterState()
		if err == nil {
			addr := net.JoinHostPort(m["ip"], m["port"])
			if m["flags"] == "master" && addr == s.Master.Addr {
				return nil
			}
			err = fmt.Errorf("sentinel sees master %s with flags %q", addr, m["flags"])
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sentinel did not report master %s as up: %w", s.Master.Addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
