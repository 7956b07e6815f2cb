package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// startProfiles starts a CPU profile written to cpuPath and arranges for
// an allocation profile (every allocation since the program started) to
// be written to allocPath; an empty path skips that profile. stop ends
// them, writing the files.
func startProfiles(cpuPath, allocPath string) (stop func(), err error) {
	stopCPU := func() {}
	if cpuPath != "" {
		f, err := os.Create(cpuPath)
		if err != nil {
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("cpu profile: %w", err)
		}
		stopCPU = func() { pprof.StopCPUProfile(); f.Close() }
	}
	return func() {
		stopCPU()
		if allocPath == "" {
			return
		}
		f, err := os.Create(allocPath)
		if err != nil {
			fmt.Fprintln(os.Stderr, "joblot: alloc profile:", err)
			return
		}
		defer f.Close()
		if err := pprof.Lookup("allocs").WriteTo(f, 0); err != nil {
			fmt.Fprintln(os.Stderr, "joblot: alloc profile:", err)
		}
	}, nil
}
