package redistest

import "testing"

func TestStartServesAndStops(t *testing.T) {
	s := Start(t, Options{MaxMemory: "10mb"})
	if out, err := s.Do("SET", "k", "v"); err != nil || out != "OK" {
		t.Fatalf("SET: %q %v", out, err)
	}
	if out, err := s.Do("CONFIG", "GET", "maxmemory-policy"); err != nil || out != "maxmemory-policy\nnoeviction" {
		t.Fatalf("policy: %q %v", out, err)
	}
	if v, err := s.Info("maxmemory"); err != nil || v != "10485760" {
		t.Fatalf("maxmemory: %q %v", v, err)
	}
	s.Stop()
	if _, err := s.Do("PING"); err == nil {
		t.Fatal("server still answers after Stop")
	}
}
