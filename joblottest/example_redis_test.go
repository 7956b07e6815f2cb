package joblottest_test

import (
	"testing"

	"github.com/joblot/joblot/backend"
	"github.com/joblot/joblot/backend/redis"
	"github.com/joblot/joblot/internal/redistest"
)

// The same tests as in example_bolt_test.go, against Redis: open the store
// with redis.Open and pass it in; joblottest does the rest the same way.
// Here each test gets its own redis-server; an application would point
// redis.Options.URL at its test Redis and flush it between tests.
func TestExampleRedis(t *testing.T) {
	for name, test := range map[string]func(*testing.T, backend.Backend){
		"enqueues": testSignUpEnqueues, "worker": testWelcomeWorker, "drain": testSignUpDrain, "inline": testSignUpInline,
	} {
		t.Run(name, func(t *testing.T) {
			store, err := redis.Open(t.Context(), redis.Options{URL: redistest.Start(t).URL})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { store.Close() })
			test(t, store)
		})
	}
}
