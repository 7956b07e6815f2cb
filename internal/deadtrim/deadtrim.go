// Package deadtrim is the one Redis implementation of the dead-set caps
// (the rule is stated on backend.Limits): a script that trims one queue's
// dead set, oldest first, by age, count and payload bytes, counting the
// drops in the queue's dead_dropped and keeping its dead_bytes. The Redis
// backend's TrimDead runs it with the store's Limits; the cleanup command
// runs it with an operator's caps, a chunk at a time and as a dry run.
//
// The script checks the types of the keys it is given and touches nothing
// when they are not a sorted set and a hash: a key named like a dead set
// that is not joblot's is reported, never trimmed (nor a WRONGTYPE error).
package deadtrim

import (
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/joblot/joblot/internal/rediskeys"
)

//go:embed trim.lua
var src string

//go:embed deadlib.lua
var lib string

// Source returns the script's Lua source (with its shebang: it may run
// while Redis is at maxmemory, as it only frees memory), deadlib.lua
// included.
func Source() string {
	shebang, body, _ := strings.Cut(src, "\n")
	return shebang + "\n" + lib + body
}

// Lib returns deadlib.lua, the Lua functions that add and remove dead
// entries and keep their shared details (see backend.EncodeDead), for the
// other scripts that write the dead set.
func Lib() string { return lib }

// Caps choose what one call trims. A negative cap is no cap.
type Caps struct {
	// Cutoff drops the dead jobs that died before it (zero: no age cap).
	Cutoff time.Time
	// MaxJobs keeps at most this many dead jobs (negative: no count cap).
	MaxJobs int64
	// MaxBytes keeps at most this many payload bytes (negative: no byte
	// cap).
	MaxBytes int64
	// Extra drops this many more of the oldest (a total cap across
	// queues).
	Extra int64
	// Limit is the most jobs one call drops (0: no limit); the byte cap is
	// then applied only by a call that reaches the other caps' end.
	Limit int64
	// DryRun counts what is due and drops nothing.
	DryRun bool
}

// Keys returns the script's keys for queue q: its dead set and its stats.
func Keys(l rediskeys.Layout, q string) []string { return []string{l.QDead(q), l.QStats(q)} }

// Args encodes c as the script's arguments.
func (c Caps) Args() []string {
	cutoff := int64(-1)
	if !c.Cutoff.IsZero() {
		cutoff = max(c.Cutoff.UnixMilli(), 0)
	}
	apply := "1"
	if c.DryRun {
		apply = "0"
	}
	i := func(n int64) string { return strconv.FormatInt(n, 10) }
	return []string{i(cutoff), i(max(c.MaxJobs, -1)), i(max(c.MaxBytes, -1)), i(max(c.Extra, 0)), i(max(c.Limit, 0)), apply}
}

// Result is one call's outcome.
type Result struct {
	// Dropped is how many dead jobs the call dropped (0 in a dry run).
	Dropped int64
	// Due is how many were beyond the caps before the call (those of the
	// byte cap only as far as the call looked: see Caps.Limit).
	Due int64
	// Left and LeftBytes are the dead set's size and payload bytes after
	// the call.
	Left, LeftBytes int64
}

// ErrForeign reports that a key named like a dead set or its queue's
// stats holds another Redis type: it is not joblot's, and nothing was
// touched.
var ErrForeign = errors.New("deadtrim: the dead set is not a sorted set or its queue's stats not a hash")

// Parse decodes the script's reply.
func Parse(vals []int64) (Result, error) {
	if len(vals) != 4 {
		return Result{}, fmt.Errorf("deadtrim: unexpected reply %v", vals)
	}
	if vals[0] < 0 {
		return Result{}, ErrForeign
	}
	return Result{Dropped: vals[0], Due: vals[1], Left: vals[2], LeftBytes: vals[3]}, nil
}
