package main

import (
	"strings"
	"testing"
)

// An unknown fault is refused before anything starts.
func TestChaosRefusesUnknownFault(t *testing.T) {
	r := runCmd(t, nil, "chaos", "--faults", "kill-worker,meteor", "--dir", t.TempDir())
	if r.code == 0 || !strings.Contains(r.stderr, `unknown fault "meteor"`) {
		t.Fatalf("chaos --faults meteor: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
