package main

import (
	"runtime"
	"syscall"
	"time"
)

// phaseDiag is what the process spent during one timed phase: CPU time
// (user + system, the whole process) and garbage collections. It tells a
// phase that waited on the disk from one that was short of CPU.
type phaseDiag struct {
	CPU time.Duration `json:"cpu_ns"`
	GCs uint32        `json:"gcs"`
}

// diagStart samples the process now; the returned func gives the phase's
// diagnostics since then.
func diagStart() func() phaseDiag {
	cpu0, gc0 := processCPU(), numGC()
	return func() phaseDiag {
		return phaseDiag{CPU: processCPU() - cpu0, GCs: numGC() - gc0}
	}
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func numGC() uint32 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.NumGC
}
