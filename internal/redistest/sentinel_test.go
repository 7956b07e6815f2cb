package redistest

import (
	"os/exec"
	"testing"
)

func hasRedisCLI() bool {
	_, err := exec.LookPath("redis-cli")
	return err == nil
}

func TestStartSentinelReportsTheMaster(t *testing.T) {
	m := Start(t)
	s := StartSentinel(t, m)
	if want := "redis-sentinel://" + s.Addr + "/" + SentinelMasterName; s.URL != want {
		t.Fatalf("URL = %q, want %q", s.URL, want)
	}
	out, err := s.Do("SENTINEL", "GET-MASTER-ADDR-BY-NAME", SentinelMasterName)
	if err != nil || out != "127.0.0.1\n"+m.Addr[len("127.0.0.1:"):] {
		t.Fatalf("GET-MASTER-ADDR-BY-NAME: %q %v, want master %s", out, err, m.Addr)
	}
	st, err := s.MasterState()
	if err != nil || st["flags"] != "master" {
		t.Fatalf("MasterState: %v %v", st, err)
	}
	s.Stop()
	if _, err := s.Do("PING"); err == nil {
		t.Fatal("sentinel still answers after Stop")
	}
	if out, err := m.Do("PING"); err != nil || out != "PONG" {
		t.Fatalf("master after sentinel Stop: %q %v", out, err)
	}
}
