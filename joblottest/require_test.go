package joblottest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/joblottest"
)

// t0 is the tests' client clock: in the future of any wall clock the tests
// run on, so that a delayed job is scheduled whatever the store's clock.
var t0 = time.Date(2040, 1, 2, 3, 4, 5, 0, time.UTC)

func fixedClient(store backend.Backend) *joblot.Client {
	return joblot.NewClient(store, joblot.ClientConfig{Now: func() time.Time { return t0 }})
}

func enqueue(t *testing.T, c *joblot.Client, args joblot.JobArgs, opts *joblot.EnqueueOpts) string {
	t.Helper()
	id, err := c.Enqueue(context.Background(), args, opts)
	if err != nil {
		t.Fatal(err)
	}
	return id.ID
}

func TestRequireEnqueuedMatches(t *testing.T) {
	store := joblottest.NewStore(t)
	c := fixedClient(store)
	ctx := context.Background()
	mailID := enqueue(t, c, mailArgs{To: "ada@example.com", Subject: "hi", Tags: []string{"a", "b"}, Opts: &mailOpts{Priority: 2, HTML: true}}, &joblot.EnqueueOpts{Queue: "mail", MaxRetries: 3})
	resizeID := enqueue(t, c, resizeArgs{Image: "cat.png", Width: 100}, &joblot.EnqueueOpts{Delay: 3 * time.Hour})
	batch, err := c.NewBatch(ctx, joblot.BatchOpts{})
	if err != nil {
		t.Fatal(err)
	}
	if err := batch.Add(ctx, joblot.EnqueueParams{Args: resizeArgs{Image: "dog.png", Width: 50}}); err != nil {
		t.Fatal(err)
	}

	job := joblottest.RequireEnqueued(t, store, mailArgs{To: "ada@example.com"}, nil)
	if job.ID != mailID || job.Queue != "mail" || job.Args.Subject != "hi" || job.Args.Opts.Priority != 2 || job.MaxRetries != 3 || job.Attempt != 1 {
		t.Fatalf("RequireEnqueued returned %+v", job)
	}
	cases := map[string]struct {
		args joblot.JobArgs
		opts *joblottest.RequireOpts
	}{
		"nested object subset": {mailArgs{To: "ada@example.com", Opts: &mailOpts{Priority: 2}}, nil},
		"array":                {mailArgs{To: "ada@example.com", Tags: []string{"a", "b"}}, nil},
		"queue":                {mailArgs{To: "ada@example.com"}, &joblottest.RequireOpts{Queue: "mail"}},
		"kind only":            {mailArgs{}, &joblottest.RequireOpts{KindOnly: true}},
		"run at":               {resizeArgs{Image: "cat.png", Width: 100}, &joblottest.RequireOpts{RunAt: t0.Add(3 * time.Hour)}},
		"run at tolerance":     {resizeArgs{Image: "cat.png", Width: 100}, &joblottest.RequireOpts{RunAt: t0.Add(3*time.Hour + 10*time.Second), RunAtTolerance: 20 * time.Second}},
		"batch":                {resizeArgs{Image: "dog.png", Width: 50}, &joblottest.RequireOpts{BatchID: batch.ID()}},
		"match":                {resizeArgs{Image: "cat.png", Width: 100}, &joblottest.RequireOpts{Match: func(j *backend.Job) bool { return j.ID == resizeID }}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			r := &recorder{TB: t}
			joblottest.RequireEnqueued(r, store, c.args, c.opts)
			r.passed(t)
		})
	}
}

func TestRequireEnqueuedRejects(t *testing.T) {
	store := joblottest.NewStore(t)
	c := fixedClient(store)
	enqueue(t, c, mailArgs{To: "ada@example.com", Opts: &mailOpts{Priority: 2}}, &joblot.EnqueueOpts{Queue: "mail"})
	enqueue(t, c, resizeArgs{Image: "cat.png", Width: 100}, &joblot.EnqueueOpts{Delay: 3 * time.Hour})

	cases := map[string]struct {
		args joblot.JobArgs
		opts *joblottest.RequireOpts
		want string
	}{
		"other value":                  {mailArgs{To: "bob@example.com"}, nil, `no enqueued job with kind "mail", args ⊇ {"to":"bob@example.com"}`},
		"zero field without omitempty": {resizeArgs{Image: "cat.png"}, nil, `"width":0`},
		"nested field":                 {mailArgs{To: "ada@example.com", Opts: &mailOpts{Priority: 3}}, nil, `"priority":3`},
		"array absent":                 {mailArgs{To: "ada@example.com", Tags: []string{"x"}}, nil, `"tags":["x"]`},
		"queue":                        {mailArgs{To: "ada@example.com"}, &joblottest.RequireOpts{Queue: "default"}, `queue "default"`},
		"run at":                       {resizeArgs{Image: "cat.png", Width: 100}, &joblottest.RequireOpts{RunAt: t0.Add(2 * time.Hour)}, "± 1m0s"},
		"run at of an immediate job":   {mailArgs{To: "ada@example.com"}, &joblottest.RequireOpts{RunAt: t0, RunAtTolerance: time.Hour}, "run at"},
		"batch":                        {resizeArgs{Image: "cat.png", Width: 100}, &joblottest.RequireOpts{BatchID: "b1"}, `batch "b1"`},
		"match":                        {resizeArgs{Image: "cat.png", Width: 100}, &joblottest.RequireOpts{Match: func(*backend.Job) bool { return false }}, "RequireOpts.Match"},
		"kind":                         {otherArgs{}, &joblottest.RequireOpts{KindOnly: true}, `kind "other"`},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			r := &recorder{TB: t}
			if job := joblottest.RequireEnqueued(r, store, c.args, c.opts); job != nil {
				t.Errorf("returned %+v on failure", job)
			}
			msg := r.failure(t)
			if !strings.Contains(msg, c.want) {
				t.Errorf("message %q does not say %q", msg, c.want)
			}
			// What was enqueued instead is listed.
			for _, s := range []string{"2 job(s)", `queue "mail" kind "mail"`, `{"to":"ada@example.com","opts":{"priority":2}}`, `scheduled queue "default" kind "resize"`, "run_at 2040-01-02T06:04:05Z"} {
				if !strings.Contains(msg, s) {
					t.Errorf("message %q does not list %q", msg, s)
				}
			}
		})
	}
}

type otherArgs struct{}

func (otherArgs) Kind() string { return "other" }

func TestRequireEnqueuedWantsExactlyOne(t *testing.T) {
	store := joblottest.NewStore(t)
	c := fixedClient(store)
	enqueue(t, c, mailArgs{To: "a"}, nil)
	enqueue(t, c, mailArgs{To: "b"}, nil)
	r := &recorder{TB: t}
	joblottest.RequireEnqueued(r, store, mailArgs{}, &joblottest.RequireOpts{KindOnly: true})
	if msg := r.failure(t); !strings.Contains(msg, "2 enqueued jobs with") || !strings.Contains(msg, "RequireManyEnqueued") {
		t.Errorf("message: %s", msg)
	}
}

func TestRequireFailureIsBoundedAndEscaped(t *testing.T) {
	store := joblottest.NewStore(t)
	c := fixedClient(store)
	params := make([]joblot.EnqueueParams, 25)
	for i := range params {
		params[i] = joblot.EnqueueParams{Args: mailArgs{To: fmt.Sprint(i) + strings.Repeat("x", 1000)}}
	}
	params[0] = joblot.EnqueueParams{Args: mailArgs{To: "\x1b]0;pwned\x07"}, Opts: joblot.EnqueueOpts{Queue: "q\x1b[2J"}}
	if _, err := c.EnqueueMany(context.Background(), params); err != nil {
		t.Fatal(err)
	}
	r := &recorder{TB: t}
	joblottest.RequireEnqueued(r, store, mailArgs{To: "nobody"}, nil)
	msg := r.failure(t)
	if strings.ContainsAny(msg, "\x1b\x07") {
		t.Errorf("message carries raw control characters: %q", msg)
	}
	if !strings.Contains(msg, "… and 5 more") {
		t.Errorf("message does not bound the list: %q", msg)
	}
	if len(msg) > 20*600 {
		t.Errorf("message is %d bytes long", len(msg))
	}
}

func TestRequireNotEnqueued(t *testing.T) {
	store := joblottest.NewStore(t)
	c := fixedClient(store)
	enqueue(t, c, mailArgs{To: "ada"}, &joblot.EnqueueOpts{Queue: "mail"})

	r := &recorder{TB: t}
	joblottest.RequireNotEnqueued(r, store, mailArgs{To: "bob"}, nil)
	joblottest.RequireNotEnqueued(r, store, mailArgs{To: "ada"}, &joblottest.RequireOpts{Queue: "default"})
	joblottest.RequireNotEnqueued(r, store, resizeArgs{}, &joblottest.RequireOpts{KindOnly: true})
	r.passed(t)

	joblottest.RequireNotEnqueued(r, store, mailArgs{To: "ada"}, nil)
	if msg := r.failure(t); !strings.Contains(msg, `want no enqueued job with kind "mail"`) || !strings.Contains(msg, `{"to":"ada"}`) {
		t.Errorf("message: %s", msg)
	}
}

func TestRequireManyEnqueued(t *testing.T) {
	store := joblottest.NewStore(t)
	c := fixedClient(store)
	if _, err := c.EnqueueMany(context.Background(), []joblot.EnqueueParams{
		{Args: mailArgs{To: "a"}},
		{Args: resizeArgs{Image: "1", Width: 1}, Opts: joblot.EnqueueOpts{Queue: "images"}},
		{Args: mailArgs{To: "b"}, Opts: joblot.EnqueueOpts{Queue: "mail"}},
		{Args: otherArgs{}}, // a kind not expected: ignored
	}); err != nil {
		t.Fatal(err)
	}
	want := []joblottest.ExpectedJob{
		{Args: mailArgs{To: "a"}},
		{Args: resizeArgs{Image: "1", Width: 1}, Opts: &joblottest.RequireOpts{Queue: "images"}},
		{Args: mailArgs{To: "b"}},
	}
	r := &recorder{TB: t}
	jobs := joblottest.RequireManyEnqueued(r, store, want)
	r.passed(t)
	if len(jobs) != 3 || jobs[1].Kind != "resize" || jobs[2].Queue != "mail" {
		t.Fatalf("returned %+v", jobs)
	}

	t.Run("order", func(t *testing.T) {
		r := &recorder{TB: t}
		joblottest.RequireManyEnqueued(r, store, []joblottest.ExpectedJob{want[0], want[2], want[1]})
		if msg := r.failure(t); !strings.Contains(msg, "enqueued job 1 does not have") {
			t.Errorf("message: %s", msg)
		}
	})
	t.Run("count", func(t *testing.T) {
		r := &recorder{TB: t}
		joblottest.RequireManyEnqueued(r, store, want[:2])
		if msg := r.failure(t); !strings.Contains(msg, "3 jobs of the expected kinds enqueued, want 2") {
			t.Errorf("message: %s", msg)
		}
	})
}

func TestArgsSubsetRule(t *testing.T) {
	// Numbers compare by value: args enqueued by another producer may
	// write 1.0 for 1.
	store := joblottest.NewStore(t)
	job := &backend.Job{ID: backend.NewJobID(), Kind: "scale", Queue: "default", Args: []byte(`{"image":"x","factor":1.0e2,"extra":true}`), CreatedAt: t0}
	if _, err := store.Enqueue(context.Background(), []*backend.Job{job}); err != nil {
		t.Fatal(err)
	}
	r := &recorder{TB: t}
	got := joblottest.RequireEnqueued(r, store, scaleArgs{Image: "x", Factor: 100}, nil)
	r.passed(t)
	if got.Args.Factor != 100 {
		t.Fatalf("decoded %+v", got.Args)
	}
	joblottest.RequireEnqueued(r, store, scaleArgs{Image: "x", Factor: 100.5}, nil)
	r.failure(t)
}

type scaleArgs struct {
	Image  string  `json:"image"`
	Factor float64 `json:"factor"`
}

func (scaleArgs) Kind() string { return "scale" }

func TestRequireEnqueuedDecodesInterfaceArgs(t *testing.T) {
	store := joblottest.NewStore(t)
	enqueue(t, fixedClient(store), mailArgs{To: "ada", Subject: "hi"}, nil)
	var expected joblot.JobArgs = mailArgs{To: "ada"}
	job := joblottest.RequireEnqueued(t, store, expected, nil)
	if m, ok := job.Args.(mailArgs); !ok || m.Subject != "hi" {
		t.Fatalf("decoded %#v", job.Args)
	}
}
