package redis

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/internal/deadtrim"
)

// ScriptTime is the time Redis spent in one script over a measurement
// (MeasureScripts): its calls and their total run time, nested commands
// included, as INFO commandstats counts EVALSHA.
type ScriptTime struct {
	Script string `json:"script"`
	Calls  int64  `json:"calls"`
	Micros int64  `json:"usec"`
}

// Slow-log settings while scripts are measured: every command is logged,
// and the log is drained often enough never to fill.
const (
	scriptLogMaxLen     = 200_000
	scriptLogDrainEvery = 200 * time.Millisecond
)

// MeasureScripts times every script call on this Redis until the returned
// function is called, which returns the time per script, most first. It
// uses the slow log (threshold 0, drained every 200 ms and emptied), so it
// is for a benchmark's private Redis: it changes the slow log's settings
// (restored at the end) and drops what the log held. INFO commandstats
// counts all scripts as one EVALSHA; the slow log names each call's
// script by its SHA.
func (b *Backend) MeasureScripts(ctx context.Context) (stop func(context.Context) ([]ScriptTime, error), err error) {
	prev := map[string]string{}
	for _, p := range []string{"slowlog-log-slower-than", "slowlog-max-len"} {
		kv, err := b.c.Do(ctx, b.c.B().ConfigGet().Parameter(p).Build()).AsStrMap()
		if err != nil {
			return nil, wrap("measure scripts: config get", err)
		}
		prev[p] = kv[p]
	}
	set := func(ctx context.Context, p, v string) error {
		return b.c.Do(ctx, b.c.B().ConfigSet().ParameterValue().ParameterValue(p, v).Build()).Error()
	}
	restore := func(ctx context.Context) error {
		var first error
		for p, v := range prev {
			if err := set(ctx, p, v); err != nil && first == nil {
				first = wrap("measure scripts: restore "+p, err)
			}
		}
		return first
	}
	if err := b.c.Do(ctx, b.c.B().SlowlogReset().Build()).Error(); err != nil {
		return nil, wrap("measure scripts: slowlog reset", err)
	}
	if err := set(ctx, "slowlog-max-len", fmt.Sprint(scriptLogMaxLen)); err != nil {
		return nil, wrap("measure scripts: config set", err)
	}
	if err := set(ctx, "slowlog-log-slower-than", "0"); err != nil {
		_ = restore(ctx)
		return nil, wrap("measure scripts: config set", err)
	}

	names := scriptNamesBySHA()
	var (
		mu      sync.Mutex
		times   = map[string]*ScriptTime{}
		full    bool
		lastErr error
	)
	// drain takes what the log holds and empties it in one transaction, so
	// no entry is counted twice or lost between the two.
	drain := func(ctx context.Context) {
		res := b.c.DoMulti(ctx, b.c.B().Multi().Build(), b.c.B().SlowlogGet().Count(-1).Build(), b.c.B().SlowlogReset().Build(), b.c.B().Exec().Build())
		arr, err := res[3].ToArray()
		if err == nil && len(arr) < 1 {
			err = fmt.Errorf("empty EXEC reply")
		}
		var entries []rueidis.RedisMessage
		if err == nil {
			entries, err = arr[0].ToArray()
		}
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			lastErr = err
			return
		}
		if len(entries) >= scriptLogMaxLen {
			full = true
		}
		for _, e := range entries {
			f, err := e.ToArray()
			if err != nil || len(f) < 4 {
				continue
			}
			usec, _ := f[2].AsInt64()
			args, err := f[3].AsStrSlice()
			if err != nil || len(args) < 2 || !strings.EqualFold(args[0], "EVALSHA") {
				continue
			}
			name := names[strings.ToLower(args[1])]
			if name == "" {
				name = "unknown " + args[1]
			}
			t := times[name]
			if t == nil {
				t = &ScriptTime{Script: name}
				times[name] = t
			}
			t.Calls++
			t.Micros += usec
		}
	}
	done := make(chan struct{})
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		tick := time.NewTicker(scriptLogDrainEvery)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				drain(context.Background())
			}
		}
	}()
	return func(ctx context.Context) ([]ScriptTime, error) {
		close(done)
		<-drained
		drain(ctx)
		rerr := restore(ctx)
		mu.Lock()
		defer mu.Unlock()
		if lastErr != nil {
			return nil, wrap("measure scripts: slowlog get", lastErr)
		}
		if full {
			return nil, fmt.Errorf("joblot/redis: measure scripts: the slow log filled between two reads; entries were lost")
		}
		out := make([]ScriptTime, 0, len(times))
		for _, t := range times {
			out = append(out, *t)
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Micros > out[j].Micros })
		return out, rerr
	}, nil
}

// scriptNamesBySHA maps the SHA of every script this package sends to its
// name (the Lua file's name without ".lua").
func scriptNamesBySHA() map[string]string {
	out := map[string]string{}
	add := func(s *script) { out[s.sha] = strings.TrimSuffix(s.name, ".lua") }
	files, _ := fs.ReadDir(luaFiles, "lua")
	for _, f := range files {
		add(loadScript(path.Base(f.Name())))
	}
	add(newScript("trim.lua", deadtrim.Source()))
	return out
}
