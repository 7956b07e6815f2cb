package redistest

import (
	"errors"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// clusterSlots is the number of hash slots of a Redis Cluster.
const clusterSlots = 16384

// Cluster is a running Redis Cluster, owned by one test (StartCluster:
// masters only) or one program (StartClusterServers: with replicas).
type Cluster struct {
	// Nodes are the masters; together they serve every slot.
	Nodes []*Server
	// Replicas are the replicas (StartClusterServers), replica i of
	// master i mod len(Nodes) until a failover (Promote).
	Replicas []*Server
	// Addrs are the nodes' host:port, in Nodes order.
	Addrs []string
	// URL is redis://<first node>?addr=<second>&addr=..., the seeds from
	// which a client discovers the cluster.
	URL string

	busPorts []int // cluster bus port of each node, in Nodes order
}

// StartCluster starts masters cluster-enabled redis-servers (each in its
// own temporary directory, on a free port with a free cluster bus port),
// splits the slots evenly between them and waits until every node reports
// cluster_state:ok and knows every other node. Everything is killed at
// t.Cleanup. It uses redis-cli --cluster create when redis-cli is installed
// and masters >= 3 (its minimum), and CLUSTER ADDSLOTSRANGE / CLUSTER MEET
// otherwise.
func StartCluster(t testing.TB, masters int) *Cluster {
	t.Helper()
	_, err := exec.LookPath("redis-cli")
	useCLI := err == nil && masters >= 3
	return startCluster(t, masters, useCLI)
}

func startCluster(t testing.TB, masters int, useCLI bool) *Cluster {
	t.Helper()
	if masters < 1 {
		t.Fatalf("redistest: a cluster needs at least one master, not %d", masters)
	}
	c := &Cluster{}
	t.Cleanup(c.Stop) // stops the nodes started so far, however far we get
	for i := 0; i < masters; i++ {
		n, bus, err := startClusterNode(t.TempDir())
		if err != nil {
			t.Fatalf("redistest: cluster node %d: %v", i, err)
		}
		c.Nodes = append(c.Nodes, n)
		c.Addrs = append(c.Addrs, n.Addr)
		c.busPorts = append(c.busPorts, bus)
	}
	c.URL = "redis://" + c.Addrs[0]
	for i, a := range c.Addrs[1:] {
		sep := "&"
		if i == 0 {
			sep = "?"
		}
		c.URL += sep + "addr=" + a
	}

	create := c.createByCommands
	if useCLI {
		create = c.createByCLI
	}
	if err := create(); err != nil {
		t.Fatalf("redistest: create cluster: %v", err)
	}
	if err := c.waitReady(clusterTimeout); err != nil {
		t.Fatalf("redistest: %v", err)
	}
	return c
}

// startClusterNode starts one cluster-enabled node in dir and returns it
// with its cluster bus port. The bus port is chosen explicitly
// (cluster-port) rather than left at port+10000, which may be taken or out
// of range.
func startClusterNode(dir string) (*Server, int, error) {
	var lastErr error
	for try := 0; try < 3; try++ {
		bus, err := freePort()
		if err != nil {
			return nil, 0, err
		}
		s, err := StartServer(dir, Options{Args: []string{
			"--cluster-enabled", "yes",
			"--cluster-port", strconv.Itoa(bus),
			"--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", "5000",
		}})
		if err == nil {
			return s, bus, nil
		}
		lastErr = err // most likely the bus port was taken: try another
	}
	return nil, 0, lastErr
}

// createByCLI assigns the slots and joins the nodes with redis-cli.
func (c *Cluster) createByCLI() error {
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	out, err := exec.Command("redis-cli", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("redis-cli --cluster create: %w\n%s", err, out)
	}
	// redis-cli reports some failures only in its output.
	if strings.Contains(string(out), "[ERR]") {
		return fmt.Errorf("redis-cli --cluster create failed:\n%s", out)
	}
	return nil
}

// createByCommands gives node i the i-th of len(Nodes) even slot ranges,
// a distinct config epoch, and introduces every node to the first.
func (c *Cluster) createByCommands() error {
	n := len(c.Nodes)
	for i, s := range c.Nodes {
		lo, hi := i*clusterSlots/n, (i+1)*clusterSlots/n-1
		if _, err := s.Do("CLUSTER", "ADDSLOTSRANGE", strconv.Itoa(lo), strconv.Itoa(hi)); err != nil {
			return fmt.Errorf("%s: CLUSTER ADDSLOTSRANGE %d %d: %w", s.Addr, lo, hi, err)
		}
		// Distinct epochs spare the nodes the collision-resolution round.
		if _, err := s.Do("CLUSTER", "SET-CONFIG-EPOCH", strconv.Itoa(i+1)); err != nil {
			return fmt.Errorf("%s: CLUSTER SET-CONFIG-EPOCH: %w", s.Addr, err)
		}
	}
	first := c.Nodes[0]
	for i, s := range c.Nodes[1:] {
		host, port, _ := strings.Cut(s.Addr, ":")
		// The bus port must be given: MEET assumes port+10000 otherwise.
		if _, err := first.Do("CLUSTER", "MEET", host, port, strconv.Itoa(c.busPorts[i+1])); err != nil {
			return fmt.Errorf("%s: CLUSTER MEET %s: %w", first.Addr, s.Addr, err)
		}
	}
	return nil
}

// waitReady polls until every node, replicas included, reports
// cluster_state:ok, all slots assigned and every node known: only then
// does any node route any key, and a replica may follow any master (it
// refuses CLUSTER REPLICATE for a node gossip has not told it of yet).
func (c *Cluster) waitReady(d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		err := c.checkReady()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cluster did not become ready: %w", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *Cluster) checkReady() error {
	for _, s := range append(append([]*Server{}, c.Nodes...), c.Replicas...) {
		out, err := s.Do("CLUSTER", "INFO")
		if err != nil {
			return fmt.Errorf("%s: CLUSTER INFO: %w", s.Addr, err)
		}
		info := map[string]string{}
		for _, line := range strings.Split(out, "\n") {
			if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
				info[k] = v
			}
		}
		want := map[string]string{
			"cluster_state":          "ok",
			"cluster_slots_assigned": strconv.Itoa(clusterSlots),
			"cluster_known_nodes":    strconv.Itoa(len(c.Nodes) + len(c.Replicas)),
		}
		for k, v := range want {
			if info[k] != v {
				return fmt.Errorf("%s: %s is %q, want %q", s.Addr, k, info[k], v)
			}
		}
	}
	return nil
}

// FlushAll empties every node (FLUSHALL runs per node on a cluster).
func (c *Cluster) FlushAll() error {
	var errs []error
	for _, s := range c.Nodes {
		if _, err := s.Do("FLUSHALL"); err != nil {
			errs = append(errs, fmt.Errorf("%s: FLUSHALL: %w", s.Addr, err))
		}
	}
	return errors.Join(errs...)
}

// Stop kills every node and waits for them.
func (c *Cluster) Stop() {
	for _, s := range append(append([]*Server{}, c.Nodes...), c.Replicas...) {
		s.Stop()
	}
}
