package main

import (
	"strings"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

// A group kept after some of its failures went to other shows its count
// as the range its failures lie in; other is shown with its count.
func TestPrintErrorGroupsShowsTheBound(t *testing.T) {
	var out strings.Builder
	err := printErrorGroups(&out, &backend.BatchStatus{
		ErrorGroups: []backend.ErrorGroup{
			{Fingerprint: "fp-big", Kind: "charge", Class: "*errors.errorString", Message: "charge ch_<id>: card declined", Count: 120, Error: 3},
			{Fingerprint: "fp-small", Kind: "charge", Message: "timeout", Count: 4},
		},
		OtherErrors: 9,
	})
	if err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, want := range []string{"120..123", "fp-small", "(other)", " 9 ", "up to b-a of its failures"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "4..") {
		t.Errorf("a group without error shows a range:\n%s", s)
	}
}

// A complete batch with jobs still retrying does not read as a bare
// "complete"; one with nothing left says it has settled, and when.
func TestPrintBatchStatusSaysRetryingOrSettled(t *testing.T) {
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		st   backend.BatchStatus
		want []string
	}{
		{backend.BatchStatus{ID: "b1", State: backend.BatchComplete, CompleteAt: at, Total: 600, Succeeded: 50, Failing: 548, Dead: 2},
			[]string{"state complete, 548 retrying\n"}},
		{backend.BatchStatus{ID: "b1", State: backend.BatchComplete, CompleteAt: at, SettledAt: at, Total: 600, Succeeded: 550, Dead: 50},
			[]string{"state complete, settled\n", "settled " + fmtTime(at) + "\n"}},
	} {
		var out strings.Builder
		if err := printBatchStatus(&out, &c.st); err != nil {
			t.Fatal(err)
		}
		var lines []string // the table with its padding squeezed
		for _, l := range strings.Split(out.String(), "\n") {
			lines = append(lines, strings.Join(strings.Fields(l), " "))
		}
		got := strings.Join(lines, "\n")
		for _, want := range c.want {
			if !strings.Contains(got, want) {
				t.Errorf("output lacks %q:\n%s", want, out.String())
			}
		}
	}
}
