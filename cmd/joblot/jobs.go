package main

import (
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/joblot/joblot/backend"
)

// newJobSetCmd is `joblot scheduled|retries|dead`: list, retry and delete
// the jobs of one set.
func newJobSetCmd(a *app, use string, set backend.JobSet, short string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
	}
	cmd.AddCommand(
		newJobsListCmd(a, set),
		newJobsActCmd(a, set, actRetry),
		newJobsActCmd(a, set, actDelete),
	)
	return cmd
}

// jobFilterFlags are the filters every job command takes.
type jobFilterFlags struct {
	queue, batch, kind, errorText, errorGroup string
}

func (f *jobFilterFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&f.queue, "queue", "", "only jobs of this queue")
	fs.StringVar(&f.batch, "batch", "", "only jobs of this batch")
	fs.StringVar(&f.kind, "kind", "", "only jobs of this kind")
	fs.StringVar(&f.errorText, "error", "", "only jobs whose last error message contains this text")
	fs.StringVar(&f.errorGroup, "error-group", "", "only jobs whose last error has this fingerprint `FP` (errors and batch show list them)")
}

// any reports whether a filter other than the queue is set.
func (f *jobFilterFlags) any() bool {
	return f.queue != "" || f.batch != "" || f.kind != "" || f.errorText != "" || f.errorGroup != ""
}

// filter returns the backend filter of set.
func (f *jobFilterFlags) filter(set backend.JobSet) backend.JobFilter {
	return backend.JobFilter{
		Set:              set,
		Queue:            f.queue,
		BatchID:          f.batch,
		Kind:             f.kind,
		ErrorContains:    f.errorText,
		ErrorFingerprint: f.errorGroup,
	}
}
