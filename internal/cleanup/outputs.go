package cleanup

import (
	"context"
	"fmt"
	"strings"
)

// isOutputKey reports whether k is one of the job output keys
// ({jl:out}:data, :exp, :meta).
func (r *run) isOutputKey(k string) bool {
	return strings.HasPrefix(k, r.opts.Keys.OutputTag()+":")
}

// outputs removes every job output and progress record: the three keys
// of the {jl:out} slot together, in one UNLINK, so that the byte count
// never disagrees with the records (a backend's next write starts from
// an empty store and counts again). Records are advisory: a running job's
// next progress write records it again. The drop counter goes with them.
func (r *run) outputs(ctx context.Context, _ []string) error {
	if r.outputsDone {
		return nil // SCAN returns each key once, but all three go at the first
	}
	r.outputsDone = true
	keys := r.opts.Keys.OutputKeys()
	sizes, err := r.memoryUsage(ctx, keys)
	if err != nil {
		return err
	}
	var present []string
	var bytes int64
	for i, k := range keys {
		if sizes[i] > 0 {
			present = append(present, k)
			bytes += sizes[i]
		}
	}
	if len(present) == 0 {
		return nil
	}
	if r.opts.Apply {
		if err := r.limit.wait(ctx, len(keys)); err != nil {
			return err
		}
		if err := r.c.Do(ctx, r.c.B().Unlink().Key(keys...).Build()).Error(); err != nil {
			return fmt.Errorf("UNLINK: %w", err)
		}
	}
	r.removed(JobOutputs, present, int64(len(present)), bytes)
	return nil
}
