package joblottest_test

import (
	"strings"
	"testing"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/joblottest"
)

// TestRequireEnqueuedMeta: RequireOpts.Meta matches a subset of the job's
// metadata, and a mismatch is reported with what was enqueued.
func TestRequireEnqueuedMeta(t *testing.T) {
	store := joblottest.NewStore(t)
	c := fixedClient(store)
	enqueue(t, c, mailArgs{To: "ada"}, &joblot.EnqueueOpts{Meta: map[string]string{"tenant": "acme", "req": "r-1"}})

	joblottest.RequireEnqueued(t, store, mailArgs{To: "ada"}, &joblottest.RequireOpts{Meta: map[string]string{"tenant": "acme"}})
	joblottest.RequireNotEnqueued(t, store, mailArgs{To: "ada"}, &joblottest.RequireOpts{Meta: map[string]string{"tenant": "other"}})
	joblottest.RequireNotEnqueued(t, store, mailArgs{To: "ada"}, &joblottest.RequireOpts{Meta: map[string]string{"missing": ""}})

	rec := &recorder{TB: t}
	joblottest.RequireEnqueued(rec, store, mailArgs{To: "ada"}, &joblottest.RequireOpts{Meta: map[string]string{"tenant": "other"}})
	if msg := rec.failure(t); !strings.Contains(msg, `meta ⊇ {"tenant"="other"}`) {
		t.Fatalf("a metadata mismatch reported %q", msg)
	}
}
