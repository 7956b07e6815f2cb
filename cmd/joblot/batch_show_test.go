package main

import (
	"strings"
	"testing"

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
