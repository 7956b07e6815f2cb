package main

import (
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// flagLine matches a flag line of cobra's help: "  -x, --name PLACEHOLDER   usage"
// or, for a boolean, "      --name   usage".
// The placeholder is what stands between the name and the usage.
var flagLine = regexp.MustCompile(`^\s+(?:-\w, )?--([\w-]+)(.*?)\s{2,}\S`)

// placeholders are the value names a flag's help may show: pflag's type
// names, and the words a usage string quotes on purpose (pflag shows a
// `word` in backquotes as the value's name).
var placeholders = []string{"string", "strings", "int", "int64", "uint", "float", "duration", "PATH", "URL", "N", "ID", "DIR", "FP"}

// commandPaths walks the command tree and returns every command's path.
func commandPaths(c *cobra.Command) [][]string {
	var out [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		out = append(out, path)
		for _, sub := range c.Commands() {
			if sub.Hidden || sub.Name() == "help" || sub.Name() == "completion" {
				continue
			}
			walk(sub, append(slices.Clone(path), sub.Name()))
		}
	}
	walk(c, nil)
	return out
}

// TestHelpFlagPlaceholders renders every command's help and checks that
// each flag's value placeholder is a type or an intended name: a word in
// backquotes in a usage string otherwise becomes the placeholder
// ("--error-group batch show").
func TestHelpFlagPlaceholders(t *testing.T) {
	paths := commandPaths(newRootCmd(&app{stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }}))
	if len(paths) < 20 {
		t.Fatalf("walked %d commands, want the whole tree", len(paths))
	}
	for _, path := range paths {
		r := runCmd(t, nil, append(path, "--help")...)
		if r.code != 0 {
			t.Fatalf("joblot %v --help: exit %d: %s", path, r.code, r.stderr)
		}
		flags := 0
		for _, line := range strings.Split(r.stdout, "\n") {
			m := flagLine.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			flags++
			if p := strings.TrimSpace(m[2]); p != "" && !slices.Contains(placeholders, p) {
				t.Errorf("joblot %s --help: flag --%s shows value name %q:\n%s", strings.Join(path, " "), m[1], p, line)
			}
		}
		if flags == 0 {
			t.Errorf("joblot %s --help shows no flags (the help is not parsed):\n%s", strings.Join(path, " "), r.stdout)
		}
	}
}

// The dead set's retry says what a retry by hand gives a job; the other
// sets' retries do not.
func TestDeadRetryHelpSaysAttemptsAreKept(t *testing.T) {
	if out := mustRun(t, "dead", "retry", "--help"); !strings.Contains(out, "keeps its attempt count") {
		t.Errorf("dead retry --help does not say the attempt count is kept:\n%s", out)
	}
	if out := mustRun(t, "retries", "retry", "--help"); strings.Contains(out, "keeps its attempt count") {
		t.Errorf("retries retry --help speaks of dead jobs:\n%s", out)
	}
}
