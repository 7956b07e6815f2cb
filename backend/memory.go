package backend

import "context"

// MemoryReporter is implemented by backends that can tell how much memory
// (or disk) their store uses and where its limit is. The server's memory
// watchdog and the metrics use it when a backend offers it.
type MemoryReporter interface {
	Memory(ctx context.Context) (MemoryInfo, error)
}

// MemoryInfo is a store's memory use.
type MemoryInfo struct {
	// Used is the bytes in use (Redis used_memory, the file's size).
	Used int64
	// Limit is the configured limit (Redis maxmemory), 0 if none.
	Limit int64
}
