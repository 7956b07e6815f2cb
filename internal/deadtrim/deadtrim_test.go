package deadtrim

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/internal/rediskeys"
	"github.com/joblot/joblot/internal/redistest"
)

// client connects to a Redis of its own, closed with the test.
func client(t *testing.T) rueidis.Client {
	t.Helper()
	srv := redistest.Start(t)
	c, err := rueidis.NewClient(rueidis.ClientOption{InitAddress: []string{strings.TrimPrefix(srv.URL, "redis://")}, DisableCache: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// seed fills queue q's dead set with n jobs of 10 payload bytes each,
// job i dying at i ms after the epoch, and records their bytes.
func seed(t *testing.T, c rueidis.Client, l rediskeys.Layout, q string, n int) {
	t.Helper()
	ctx := context.Background()
	z := c.B().Zadd().Key(l.QDead(q)).ScoreMember()
	for i := range n {
		z = z.ScoreMember(float64(i), fmt.Sprintf("job-%06d", i))
	}
	for _, cmd := range []rueidis.Completed{z.Build(), c.B().Hset().Key(l.QStats(q)).FieldValue().FieldValue("dead_bytes", fmt.Sprint(10*n)).Build()} {
		if err := c.Do(ctx, cmd).Error(); err != nil {
			t.Fatal(err)
		}
	}
}

func trim(t *testing.T, c rueidis.Client, l rediskeys.Layout, q string, caps Caps) (Result, error) {
	t.Helper()
	out, err := c.Do(context.Background(), c.B().Eval().Script(Source()).Numkeys(2).Key(Keys(l, q)...).Arg(caps.Args()...).Build()).AsIntSlice()
	if err != nil {
		t.Fatal(err)
	}
	return Parse(out)
}

func oldest(t *testing.T, c rueidis.Client, key string) string {
	t.Helper()
	m, err := c.Do(context.Background(), c.B().Zrange().Key(key).Min("0").Max("0").Build()).AsStrSlice()
	if err != nil || len(m) != 1 {
		t.Fatalf("ZRANGE %s: %v %v", key, m, err)
	}
	return m[0]
}

// Every cap drops the oldest; a limited call drops at most Limit and says
// what is still due; a dry run counts without dropping; the counters
// follow every drop.
func TestCaps(t *testing.T) {
	c := client(t)
	var l rediskeys.Layout
	none := Caps{MaxJobs: -1, MaxBytes: -1}

	for _, tc := range []struct {
		name            string
		caps            Caps
		dropped, due    int64
		left, leftBytes int64
		oldestAfter     string
	}{
		{"count", Caps{MaxJobs: 60, MaxBytes: -1}, 40, 40, 60, 600, "job-000040"},
		{"age", Caps{Cutoff: time.UnixMilli(25), MaxJobs: -1, MaxBytes: -1}, 25, 25, 75, 750, "job-000025"},
		{"bytes", Caps{MaxJobs: -1, MaxBytes: 305}, 70, 70, 30, 300, "job-000070"},
		{"count, then bytes", Caps{MaxJobs: 90, MaxBytes: 500}, 50, 50, 50, 500, "job-000050"},
		{"extra", Caps{MaxJobs: 90, MaxBytes: -1, Extra: 5}, 15, 15, 85, 850, "job-000015"},
		{"limited", Caps{MaxJobs: 60, MaxBytes: -1, Limit: 7}, 7, 40, 93, 930, "job-000007"},
		{"dry run", Caps{MaxJobs: 60, MaxBytes: -1, DryRun: true}, 0, 40, 100, 1000, "job-000000"},
		{"dry run, bytes", Caps{MaxJobs: -1, MaxBytes: 305, DryRun: true}, 0, 70, 100, 1000, "job-000000"},
		{"nothing due", none, 0, 0, 100, 1000, "job-000000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := strings.ReplaceAll(tc.name, " ", "-")
			seed(t, c, l, q, 100)
			res, err := trim(t, c, l, q, tc.caps)
			want := Result{Dropped: tc.dropped, Due: tc.due, Left: tc.left, LeftBytes: tc.leftBytes}
			if err != nil || res != want {
				t.Errorf("trim = %+v, %v; want %+v", res, err, want)
			}
			if o := oldest(t, c, l.QDead(q)); o != tc.oldestAfter {
				t.Errorf("oldest left %s, want %s", o, tc.oldestAfter)
			}
			st, _ := c.Do(context.Background(), c.B().Hgetall().Key(l.QStats(q)).Build()).AsStrMap()
			if st["dead_bytes"] != fmt.Sprint(tc.leftBytes) || (tc.dropped > 0) != (st["dead_dropped"] == fmt.Sprint(tc.dropped)) {
				t.Errorf("stats %v", st)
			}
		})
	}
}

// Keys named like a dead set or its stats that hold another type are left
// untouched and reported as foreign, not a WRONGTYPE error.
func TestForeignKeysAreUntouched(t *testing.T) {
	c := client(t)
	var l rediskeys.Layout
	ctx := context.Background()
	if err := c.Do(ctx, c.B().Set().Key(l.QDead("a")).Value("not a zset").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	seed(t, c, l, "b", 10)
	if err := c.Do(ctx, c.B().Del().Key(l.QStats("b")).Build()).Error(); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, c.B().Set().Key(l.QStats("b")).Value("x").Build()).Error(); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"a", "b"} {
		if _, err := trim(t, c, l, q, Caps{MaxJobs: 0, MaxBytes: -1}); !errors.Is(err, ErrForeign) {
			t.Errorf("queue %s: %v, want ErrForeign", q, err)
		}
	}
	if n, _ := c.Do(ctx, c.B().Zcard().Key(l.QDead("b")).Build()).AsInt64(); n != 10 {
		t.Errorf("a dead set whose stats are foreign was trimmed to %d", n)
	}
}
