package redistest

import (
	"strings"
	"testing"
)

func TestStartClusterServesEveryKeyOnce(t *testing.T) {
	for _, tc := range []struct {
		name    string
		masters int
		useCLI  bool
	}{
		{"commands", 3, false},
		{"redis-cli", 3, true},
		{"single-node", 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.useCLI && !hasRedisCLI() {
				t.Skip("redis-cli not installed")
			}
			c := startCluster(t, tc.masters, tc.useCLI)
			if len(c.Nodes) != tc.masters || len(c.Addrs) != tc.masters {
				t.Fatalf("got %d nodes, %d addrs, want %d", len(c.Nodes), len(c.Addrs), tc.masters)
			}
			if !strings.HasPrefix(c.URL, "redis://"+c.Addrs[0]) {
				t.Fatalf("URL %q does not start at the first node", c.URL)
			}
			for _, a := range c.Addrs[1:] {
				if !strings.Contains(c.URL, "addr="+a) {
					t.Fatalf("URL %q lacks seed %s", c.URL, a)
				}
			}
			// Every key is served by exactly one node; the others redirect.
			owners := map[string]bool{}
			for _, key := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
				served := 0
				for _, s := range c.Nodes {
					out, err := s.Do("SET", key, "v")
					switch {
					case err == nil && out == "OK":
						served++
						owners[s.Addr] = true
					case err != nil && strings.Contains(err.Error(), "MOVED"):
					default:
						t.Fatalf("SET %s on %s: %q %v", key, s.Addr, out, err)
					}
				}
				if served != 1 {
					t.Fatalf("key %q served by %d nodes, want 1", key, served)
				}
			}
			if tc.masters > 1 && len(owners) < 2 {
				t.Fatalf("8 keys all landed on one node of %d: slots not spread", tc.masters)
			}
			if err := c.FlushAll(); err != nil {
				t.Fatal(err)
			}
			for _, s := range c.Nodes {
				if n, err := s.Do("DBSIZE"); err != nil || n != "0" {
					t.Fatalf("%s DBSIZE after FlushAll: %q %v", s.Addr, n, err)
				}
			}
			c.Stop()
			for _, s := range c.Nodes {
				if _, err := s.Do("PING"); err == nil {
					t.Fatalf("%s still answers after Stop", s.Addr)
				}
			}
		})
	}
}
