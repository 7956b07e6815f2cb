package joblottest_test

import (
	"fmt"
	"strings"
	"testing"
)

// recorder is a testing.TB that records failures instead of stopping the
// test, so that tests can check what an assertion reports. The helpers
// return after each failure, as they must for t.Fatalf's Goexit.
type recorder struct {
	testing.TB
	fatals []string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.fatals = append(r.fatals, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatal(args ...any) { r.fatals = append(r.fatals, fmt.Sprint(args...)) }

func (r *recorder) Errorf(format string, args ...any) { r.Fatalf(format, args...) }

// failure returns the one failure recorded, failing t if there is not
// exactly one.
func (r *recorder) failure(t *testing.T) string {
	t.Helper()
	if len(r.fatals) != 1 {
		t.Fatalf("want exactly one failure, got %d: %q", len(r.fatals), r.fatals)
	}
	return r.fatals[0]
}

func (r *recorder) passed(t *testing.T) {
	t.Helper()
	if len(r.fatals) != 0 {
		t.Fatalf("want no failure, got %s", strings.Join(r.fatals, "\n"))
	}
}

// Args types of the tests.
type mailArgs struct {
	To      string    `json:"to"`
	Subject string    `json:"subject,omitempty"`
	Tags    []string  `json:"tags,omitempty"`
	Opts    *mailOpts `json:"opts,omitempty"`
}

type mailOpts struct {
	Priority int  `json:"priority"`
	HTML     bool `json:"html,omitempty"`
}

func (mailArgs) Kind() string { return "mail" }

type resizeArgs struct {
	Image string `json:"image"`
	Width int    `json:"width"`
}

func (resizeArgs) Kind() string { return "resize" }
