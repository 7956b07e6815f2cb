package joblot

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/joblot/joblot/backend"
)

type hookArgs struct {
	URL string `json:"url"`
}

func (hookArgs) Kind() string { return "hook" }

// TestTimedOutHTTPCallSaysTimeoutOnce: an HTTP call cut by the job timeout
// is stored with the timeout said once and the timeout sentinel as class.
func TestTimedOutHTTPCallSaysTimeoutOnce(t *testing.T) {
	b := openBolt(t, backend.Limits{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done() // never answers: only the job timeout ends the call
	}))
	defer srv.Close()
	ws := NewWorkers()
	AddWorker(ws, WorkFunc[hookArgs](func(ctx context.Context, j *Job[hookArgs]) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, j.Args.URL, nil)
		if err != nil {
			return err
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			return err
		}
		return resp.Body.Close()
	}), &WorkerOpts{Timeout: 100 * time.Millisecond})
	client := NewClient(b, ClientConfig{})
	idRes, err := client.Enqueue(context.Background(), hookArgs{URL: srv.URL + "/hooks/41"}, &EnqueueOpts{MaxRetries: NoRetries})
	id := idRes.ID
	if err != nil {
		t.Fatal(err)
	}
	startServer(t, b, fastConfig(ws))
	var dead *backend.Job
	waitFor(t, "the job to die", func() bool {
		for _, j := range listAll(t, b, backend.JobFilter{Set: backend.SetDead}) {
			if j.ID == id {
				dead = j
			}
		}
		return dead != nil
	})
	if n := strings.Count(dead.ErrorMessage, ErrJobTimeout.Error()); n != 1 {
		t.Errorf("message says the timeout %d times: %q", n, dead.ErrorMessage)
	}
	if dead.ErrorClass != "joblot.ErrJobTimeout" {
		t.Errorf("class %q, want joblot.ErrJobTimeout", dead.ErrorClass)
	}
	if !strings.HasPrefix(dead.ErrorFingerprint, fingerprintVersion) {
		t.Errorf("fingerprint %q lacks the version prefix", dead.ErrorFingerprint)
	}
}

// TestFingerprintUsesTheWholeMessage: the stored message is cut, the group
// is not: two failures that differ after the cut stay apart, whatever the
// message budget.
func TestFingerprintUsesTheWholeMessage(t *testing.T) {
	s := &executor{cfg: ServerConfig{MaxErrorBytes: 40, Now: time.Now}}
	prefix := "sync inventory of warehouse 12 with the upstream catalogue: "
	fail := func(msg string) *backend.Job {
		f := &backend.Fetched{Job: &backend.Job{ID: "j1", Kind: "sync", Queue: "default"}}
		return s.failure(f, nil, &testSyncError{msg}, true, time.Now()).Job
	}
	a, b := fail(prefix+"connection refused"), fail(prefix+"no such host")
	if a.ErrorMessage != b.ErrorMessage {
		t.Fatalf("the test wants the stored messages cut alike: %q, %q", a.ErrorMessage, b.ErrorMessage)
	}
	if a.ErrorFingerprint == b.ErrorFingerprint {
		t.Errorf("failures that differ after the cut share fingerprint %s", a.ErrorFingerprint)
	}
}

// testSyncError is an error type whose class does not hold its message.
type testSyncError struct{ msg string }

func (e *testSyncError) Error() string { return e.msg }

// TestFilterMatchesStoredFingerprints: a job stored with a version-1
// fingerprint (no prefix) still matches a filter by that value.
func TestFilterMatchesStoredFingerprints(t *testing.T) {
	old := &backend.Job{ErrorFingerprint: "0123456789abcdef"}
	if f := (backend.JobFilter{ErrorFingerprint: "0123456789abcdef"}); !f.Matches(old) {
		t.Error("a version-1 fingerprint does not match its own value")
	}
	if f := (backend.JobFilter{ErrorFingerprint: errorFingerprint("k", "C", "boom")}); f.Matches(old) {
		t.Error("a version-2 fingerprint matches a version-1 job")
	}
}

// FuzzNormalizeMessage: any input normalises without panicking, within the
// bound, and its class holds no newline (the Redis group record is
// newline-separated).
func FuzzNormalizeMessage(f *testing.F) {
	for _, s := range []string{
		`Post "http://127.0.0.1:1/hooks/4?x=1#f": joblot: job timed out after 300ms`,
		`{"status":402,"code":"card_declined","a":"b c"}`, "[::1]:80 fe80::1%eth0 ::ffff:10.0.0.1",
		"2024-01-02T15:04:05.999Z 10/Oct/2000:13:55:36 -0700 Mon Jan  2", "'\"`\\\"'", "0x 0xg 1e9 -5 +9 ::",
		"a@b.c x@ @y.z ch_ cus_AbCdEfGhIj HostID: +/= id#", "HTTP/ status 404 Not Found 200 OK",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		if n := normalizeMessage(msg); len(n) > maxNormalizedBytes {
			t.Fatalf("normalised to %d bytes", len(n))
		}
		if c := messageClass("errors.New", msg); strings.ContainsAny(c, "\n\r") || len(c) > 4*maxClassMessageBytes+32 {
			t.Fatalf("class %q", c)
		}
		_ = errorFingerprint("k", "C", msg)
	})
}
