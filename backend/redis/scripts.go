package redis

import (
	"context"
	"crypto/sha1"
	"embed"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/redis/rueidis"

	"github.com/joblot/joblot/internal/deadtrim"
)

//go:embed lua/*.lua
var luaFiles embed.FS

// script is one Lua state transition. It runs with EVALSHA and falls back to
// EVAL when the server does not have it cached (NOSCRIPT), like
// rueidis.Lua, but also inside pipelines (DoMulti), which rueidis.Lua's
// ExecMulti would precede with a SCRIPT LOAD on every call.
type script struct {
	name string
	src  string
	sha  string
}

// libraries lists which shared Lua files a script includes, prepended after
// its shebang line.
var libraries = map[string][]string{
	"fetch.lua":         {"wipfield.lua", "bell.lua", "limitlib.lua"},
	"enqueue.lua":       {"bell.lua", "uniqlib.lua"},
	"periodic.lua":      {"bell.lua"},
	"ring.lua":          {"bell.lua"},
	"resume.lua":        {"bell.lua"},
	"movedue.lua":       {"bell.lua"},
	"complete.lua":      {"bell.lua", "uniqlib.lua", "deadlib.lua"},
	"retry_jobs.lua":    {"bell.lua", "deadlib.lua"},
	"delete_jobs.lua":   {"uniqlib.lua", "deadlib.lua"},
	"cancel_drop.lua":   {"uniqlib.lua"},
	"clear_done.lua":    {"uniqlib.lua"},
	"batch_add.lua":     {"addsrec.lua"},
	"batch_landed.lua":  {"addsrec.lua"},
	"output_put.lua":    {"outputlib.lua"},
	"output_clear.lua":  {"outputlib.lua"},
	"output_expire.lua": {"outputlib.lua"},
	// Global limits.
	"limit_release.lua": {"wipfield.lua", "bell.lua", "limitlib.lua"},
	"limit_set.lua":     {"wipfield.lua", "bell.lua", "limitlib.lua"},
}

func loadScript(name string) *script {
	body, err := luaFiles.ReadFile("lua/" + name)
	if err != nil {
		panic(fmt.Sprintf("joblot/redis: embedded script %s: %v", name, err)) // a build error, not a runtime one
	}
	src := string(body)
	libs := libraries[name]
	if strings.HasPrefix(name, "batch_") {
		libs = append(libs, "batchlib.lua")
	}
	if len(libs) > 0 {
		shebang, rest := "", src
		if strings.HasPrefix(src, "#!") {
			i := strings.IndexByte(src, '\n')
			shebang, rest = src[:i+1], src[i+1:]
		}
		var b strings.Builder
		b.WriteString(shebang)
		for _, lib := range libs {
			if lib == "deadlib.lua" { // shared with the dead-set trim (package deadtrim)
				b.WriteString(deadtrim.Lib())
				continue
			}
			l, err := luaFiles.ReadFile("lua/" + lib)
			if err != nil {
				panic(fmt.Sprintf("joblot/redis: embedded library %s: %v", lib, err))
			}
			b.Write(l)
		}
		b.WriteString(rest)
		src = b.String()
	}
	return newScript(name, src)
}

// newScript is the script of src, named name.
func newScript(name, src string) *script {
	sum := sha1.Sum([]byte(src))
	return &script{name: name, src: src, sha: hex.EncodeToString(sum[:])}
}

// scripts holds every script of the backend.
type scripts struct {
	enqueue, ring, fetch, wake, complete, moveDue, trim, lease, heartbeat *script
	resume                                                                *script
	retryJobs, deleteJobs, zpage, cancel, cancelDrop                      *script
	batchCreate, batchChild, batchAdd, batchLanded, batchCommit           *script
	batchAck, batchKidDone, batchKidGone, batchCancel, batchExpire        *script
	batchErrsIndex, batchRepair                                           *script
	limitRelease, limitSet                                                *script
	periodic                                                              *script
	outputPut, outputClear, outputExpire                                  *script
}

func newScripts() *scripts {
	return &scripts{
		enqueue:      loadScript("enqueue.lua"),
		ring:         loadScript("ring.lua"),
		resume:       loadScript("resume.lua"),
		fetch:        loadScript("fetch.lua"),
		wake:         loadScript("wake.lua"),
		complete:     loadScript("complete.lua"),
		moveDue:      loadScript("movedue.lua"),
		trim:         newScript("trim.lua", deadtrim.Source()), // shared with cleanup
		lease:        loadScript("lease.lua"),
		heartbeat:    loadScript("heartbeat.lua"),
		retryJobs:    loadScript("retry_jobs.lua"),
		deleteJobs:   loadScript("delete_jobs.lua"),
		zpage:        loadScript("zpage.lua"),
		cancel:       loadScript("cancel.lua"),
		cancelDrop:   loadScript("cancel_drop.lua"),
		batchCreate:  loadScript("batch_create.lua"),
		batchChild:   loadScript("batch_child.lua"),
		batchAdd:     loadScript("batch_add.lua"),
		batchLanded:  loadScript("batch_landed.lua"),
		batchCommit:  loadScript("batch_commit.lua"),
		batchAck:     loadScript("batch_ack.lua"),
		batchKidDone: loadScript("batch_kid_done.lua"),
		batchKidGone: loadScript("batch_kid_gone.lua"),
		batchCancel:  loadScript("batch_cancel.lua"),
		batchExpire:  loadScript("batch_expire.lua"),
		// The data model 1 -> 2 migration's script.
		batchErrsIndex: loadScript("batch_errs_index.lua"),
		batchRepair:    loadScript("batch_repair.lua"),
		limitRelease:   loadScript("limit_release.lua"),
		limitSet:       loadScript("limit_set.lua"),
		periodic:       loadScript("periodic.lua"),
		outputPut:      loadScript("output_put.lua"),
		outputClear:    loadScript("output_clear.lua"),
		outputExpire:   loadScript("output_expire.lua"),
	}
}

// call is one script invocation, to run alone or in a pipeline.
type call struct {
	s    *script
	keys []string
	args []string
}

func (c call) evalsha(cl rueidis.Client) rueidis.Completed {
	return cl.B().Evalsha().Sha1(c.s.sha).Numkeys(int64(len(c.keys))).Key(c.keys...).Arg(c.args...).Build()
}

func (c call) eval(cl rueidis.Client) rueidis.Completed {
	return cl.B().Eval().Script(c.s.src).Numkeys(int64(len(c.keys))).Key(c.keys...).Arg(c.args...).Build()
}

func isNoScript(err error) bool {
	re, ok := rueidis.IsRedisErr(err)
	return ok && re.IsNoScript()
}

// run executes one script call on cl.
func (b *Backend) run(ctx context.Context, cl rueidis.Client, c call) rueidis.RedisResult {
	b.observe(c)
	res := cl.Do(ctx, c.evalsha(cl))
	if isNoScript(res.Error()) {
		res = cl.Do(ctx, c.eval(cl))
	}
	return res
}

// runMulti executes script calls in one pipeline (one round trip, plus one
// more for any script the server had not cached).
func (b *Backend) runMulti(ctx context.Context, cl rueidis.Client, calls []call) []rueidis.RedisResult {
	if len(calls) == 0 {
		return nil
	}
	cmds := make(rueidis.Commands, len(calls))
	for i, c := range calls {
		b.observe(c)
		cmds[i] = c.evalsha(cl)
	}
	res := cl.DoMulti(ctx, cmds...)
	var retry []int
	for i, r := range res {
		if isNoScript(r.Error()) {
			retry = append(retry, i)
		}
	}
	if len(retry) > 0 {
		cmds = cmds[:0]
		for _, i := range retry {
			cmds = append(cmds, calls[i].eval(cl))
		}
		for k, r := range cl.DoMulti(ctx, cmds...) {
			res[retry[k]] = r
		}
	}
	return res
}

// observe reports a script call to the test hook (slot test, round trip
// counting).
func (b *Backend) observe(c call) {
	if b.hook != nil {
		b.hook(c.s.name, c.keys)
	}
}
