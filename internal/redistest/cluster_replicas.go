package redistest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ClusterOptions configure StartClusterServers.
type ClusterOptions struct {
	// Masters is the number of masters (default 3).
	Masters int
	// Replicas gives each master this many replicas (default 0).
	Replicas int
	// NodeTimeout is cluster-node-timeout: how long a master may be
	// unreachable before its replica takes over (default 5 s).
	NodeTimeout time.Duration
	// Args are extra redis-server arguments of every node (e.g. AOF).
	Args []string
}

// StartClusterServers starts a Redis Cluster under dir, for programs that
// are not tests (the chaos harness): o.Masters masters sharing the slots
// evenly, each with o.Replicas replicas in sync. The caller stops it.
func StartClusterServers(dir string, o ClusterOptions) (*Cluster, error) {
	if o.Masters <= 0 {
		o.Masters = 3
	}
	if o.NodeTimeout <= 0 {
		o.NodeTimeout = 5 * time.Second
	}
	c := &Cluster{}
	start := func(name string) (*Server, int, error) {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, 0, err
		}
		return startClusterNodeArgs(d, o.NodeTimeout, o.Args)
	}
	for i := 0; i < o.Masters; i++ {
		n, bus, err := start(fmt.Sprintf("m%d", i))
		if err != nil {
			c.Stop()
			return nil, fmt.Errorf("redistest: cluster master %d: %w", i, err)
		}
		c.Nodes, c.Addrs, c.busPorts = append(c.Nodes, n), append(c.Addrs, n.Addr), append(c.busPorts, bus)
	}
	var repBus []int
	for i := 0; i < o.Masters*o.Replicas; i++ {
		n, bus, err := start(fmt.Sprintf("r%d", i))
		if err != nil {
			c.Stop()
			return nil, fmt.Errorf("redistest: cluster replica %d: %w", i, err)
		}
		c.Replicas = append(c.Replicas, n)
		repBus = append(repBus, bus)
	}
	c.URL = "redis://" + c.Addrs[0]
	for i, a := range c.Addrs[1:] {
		sep := "&"
		if i == 0 {
			sep = "?"
		}
		c.URL += sep + "addr=" + a
	}
	fail := func(err error) (*Cluster, error) {
		c.Stop()
		return nil, fmt.Errorf("redistest: create cluster: %w", err)
	}
	if err := c.createByCommands(); err != nil {
		return fail(err)
	}
	first := c.Nodes[0]
	for i, r := range c.Replicas {
		host, port, _ := strings.Cut(r.Addr, ":")
		if _, err := first.Do("CLUSTER", "MEET", host, port, strconv.Itoa(repBus[i])); err != nil {
			return fail(fmt.Errorf("CLUSTER MEET %s: %w", r.Addr, err))
		}
	}
	if err := c.waitReady(clusterTimeout); err != nil {
		return fail(err)
	}
	for i, r := range c.Replicas {
		m := c.Nodes[i%o.Masters]
		id, err := m.Do("CLUSTER", "MYID")
		if err != nil {
			return fail(err)
		}
		if _, err := r.Do("CLUSTER", "REPLICATE", strings.TrimSpace(id)); err != nil {
			return fail(fmt.Errorf("%s: CLUSTER REPLICATE: %w", r.Addr, err))
		}
	}
	for _, r := range c.Replicas {
		if err := WaitRole(r, "slave", clusterTimeout); err != nil {
			return fail(err)
		}
	}
	return c, nil
}

// startClusterNodeArgs is startClusterNode with a node timeout and extra
// arguments.
func startClusterNodeArgs(dir string, timeout time.Duration, extra []string) (*Server, int, error) {
	var lastErr error
	for try := 0; try < 3; try++ {
		bus, err := freePort()
		if err != nil {
			return nil, 0, err
		}
		args := append([]string{
			"--cluster-enabled", "yes",
			"--cluster-port", strconv.Itoa(bus),
			"--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", strconv.FormatInt(timeout.Milliseconds(), 10),
		}, extra...)
		s, err := StartServer(dir, Options{Args: args})
		if err == nil {
			return s, bus, nil
		}
		lastErr = err
	}
	return nil, 0, lastErr
}

// WaitRole polls s until INFO replication says role (master or slave) and,
// for a replica, its link to its master is up.
func WaitRole(s *Server, role string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		r, err := s.Info("role")
		if err == nil && r == role {
			if role != "slave" {
				return nil
			}
			if link, err := s.Info("master_link_status"); err == nil && link == "up" {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redistest: %s did not become %s within %v (role %q, %v)", s.Addr, role, d, r, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Promote records that replica i (of Replicas) took over master j (of
// Nodes): the two swap places, so Nodes stays the masters.
func (c *Cluster) Promote(replica, master int) error {
	if replica < 0 || replica >= len(c.Replicas) || master < 0 || master >= len(c.Nodes) {
		return errors.New("redistest: Promote: no such node")
	}
	c.Nodes[master], c.Replicas[replica] = c.Replicas[replica], c.Nodes[master]
	c.Addrs[master] = c.Nodes[master].Addr
	return nil
}
