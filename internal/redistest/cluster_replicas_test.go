package redistest

import (
	"strings"
	"testing"
	"time"
)

// StartClusterServers gives every master an in-sync replica; after a
// CLUSTER FAILOVER the replica is master, the old master its replica, and
// Promote keeps Nodes the masters.
func TestClusterServersFailover(t *testing.T) {
	if Binary() == "" {
		t.Skip("redis-server not installed")
	}
	c, err := StartClusterServers(t.TempDir(), ClusterOptions{Masters: 3, Replicas: 1, NodeTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	if len(c.Replicas) != 3 {
		t.Fatalf("%d replicas, want 3", len(c.Replicas))
	}
	m, r := c.Nodes[1], c.Replicas[1]
	if port, _ := r.Info("master_port"); !strings.HasSuffix(m.Addr, ":"+port) {
		t.Fatalf("replica 1 follows port %s, want master 1 (%s)", port, m.Addr)
	}
	if _, err := r.Do("CLUSTER", "FAILOVER"); err != nil {
		t.Fatal(err)
	}
	if err := WaitRole(r, "master", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := WaitRole(m, "slave", time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := c.Promote(1, 1); err != nil {
		t.Fatal(err)
	}
	if c.Nodes[1] != r || c.Replicas[1] != m || c.Addrs[1] != r.Addr {
		t.Fatalf("after Promote: master %s replica %s", c.Nodes[1].Addr, c.Replicas[1].Addr)
	}
}
