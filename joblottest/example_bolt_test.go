package joblottest_test

// These tests show how an application tests its jobs with joblottest. The
// application code is at the top: a sign-up that enqueues a welcome mail,
// and the mail's worker. Each test takes its store as an argument and runs
// here on the embedded store (no Redis needed), and in
// example_redis_test.go on Redis.

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/joblot/joblot"
	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/joblottest"
)

// WelcomeArgs is the application's job: mail a new user.
type WelcomeArgs struct {
	UserID int    `json:"user_id"`
	Locale string `json:"locale,omitempty"`
}

func (WelcomeArgs) Kind() string { return "welcome_mail" }

// errNoSuchUser is what the mailer says of a deleted user.
var errNoSuchUser = errors.New("no such user")

// signUp is the code under test: it enqueues the welcome mail, ten
// minutes after sign-up.
func signUp(ctx context.Context, client *joblot.Client, userID int) error {
	_, err := client.Enqueue(ctx, WelcomeArgs{UserID: userID, Locale: "en"}, &joblot.EnqueueOpts{Queue: "mail", Delay: 10 * time.Minute})
	return err
}

// welcomeWorker mails through send; a deleted user's mail is discarded.
func welcomeWorker(send func(userID int) error) joblot.Worker[WelcomeArgs] {
	return joblot.WorkFunc[WelcomeArgs](func(ctx context.Context, job *joblot.Job[WelcomeArgs]) error {
		err := send(job.Args.UserID)
		if errors.Is(err, errNoSuchUser) {
			return joblot.JobDiscard(err)
		}
		return err
	})
}

// Did sign-up enqueue the mail, on the right queue, at the right time?
func testSignUpEnqueues(t *testing.T, store backend.Backend) {
	client := joblot.NewClient(store, joblot.ClientConfig{})
	if err := signUp(t.Context(), client, 42); err != nil {
		t.Fatal(err)
	}
	// Only the fields set here are compared (Locale is omitempty).
	job := joblottest.RequireEnqueued(t, store, WelcomeArgs{UserID: 42}, &joblottest.RequireOpts{
		Queue: "mail",
		RunAt: time.Now().Add(10 * time.Minute),
	})
	if job.Args.Locale != "en" {
		t.Errorf("locale %q", job.Args.Locale)
	}
	joblottest.RequireNotEnqueued(t, store, WelcomeArgs{UserID: 7}, nil)
}

// What does the worker do with each answer of the mailer?
func testWelcomeWorker(t *testing.T, store backend.Backend) {
	for _, c := range []struct {
		sendErr error
		want    backend.Outcome
	}{
		{nil, backend.OutcomeSucceeded},
		{errors.New("smtp: 421 try later"), backend.OutcomeRetry},
		{errNoSuchUser, backend.OutcomeDiscarded},
	} {
		worker := welcomeWorker(func(int) error { return c.sendErr })
		res := joblottest.Work(t.Context(), t, worker, WelcomeArgs{UserID: 42}, &joblottest.WorkOpts{Store: store})
		if res.Outcome != c.want {
			t.Errorf("mailer says %v: outcome %v, want %v", c.sendErr, res.Outcome, c.want)
		}
		if c.want == backend.OutcomeDiscarded && !errors.Is(res.Err, joblot.ErrJobDiscarded) {
			t.Errorf("err %v is not a discard", res.Err)
		}
	}
	// On the last attempt a failure kills the job.
	res := joblottest.Work(t.Context(), t, welcomeWorker(func(int) error { return errors.New("smtp: 554") }),
		WelcomeArgs{UserID: 42}, &joblottest.WorkOpts{Store: store, Attempt: joblot.DefaultMaxRetries + 1})
	if res.Outcome != backend.OutcomeDead {
		t.Errorf("last attempt: outcome %v, want dead", res.Outcome)
	}
}

// Sign-up, then run everything it enqueued: the mail is sent after its
// delay and a retry, without waiting for either.
func testSignUpDrain(t *testing.T, store backend.Backend) {
	client := joblot.NewClient(store, joblot.ClientConfig{})
	if err := signUp(t.Context(), client, 42); err != nil {
		t.Fatal(err)
	}
	var sent []int
	calls := 0
	workers := joblot.NewWorkers()
	joblot.AddWorker(workers, welcomeWorker(func(userID int) error {
		if calls++; calls == 1 {
			return errors.New("smtp: 421 try later")
		}
		sent = append(sent, userID)
		return nil
	}), nil)
	res := joblottest.Drain(t.Context(), t, store, workers, nil)
	if len(sent) != 1 || sent[0] != 42 || len(res.Runs) != 2 || res.Runs[1].Outcome != backend.OutcomeSucceeded {
		t.Fatalf("sent %v; runs %+v", sent, res.Runs)
	}
}

// With an inline client, sign-up mails at once and sees the mailer's
// error.
func testSignUpInline(t *testing.T, store backend.Backend) {
	var sent []int
	sendErr := error(nil)
	workers := joblot.NewWorkers()
	joblot.AddWorker(workers, welcomeWorker(func(userID int) error {
		if sendErr != nil {
			return sendErr
		}
		sent = append(sent, userID)
		return nil
	}), nil)
	client := joblottest.NewInlineClient(t, workers, &joblottest.InlineOpts{Store: store})
	if err := signUp(t.Context(), client, 42); err != nil || len(sent) != 1 {
		t.Fatalf("signUp = %v; sent %v", err, sent)
	}
	sendErr = errNoSuchUser
	if err := signUp(t.Context(), client, 43); !errors.Is(err, errNoSuchUser) || !errors.Is(err, joblot.ErrJobDiscarded) {
		t.Fatalf("signUp = %v, want the mailer's error, discarded", err)
	}
}

func TestExampleEmbedded(t *testing.T) {
	for name, test := range map[string]func(*testing.T, backend.Backend){
		"enqueues": testSignUpEnqueues, "worker": testWelcomeWorker, "drain": testSignUpDrain, "inline": testSignUpInline,
	} {
		t.Run(name, func(t *testing.T) { test(t, joblottest.NewStore(t)) })
	}
}
