package benchrun

import "context"

// Meter measures how much the store holds. On Redis it is INFO's
// used_memory; on the embedded backend it is the file's size, which is
// why the result fields are called used_memory_* on both and the result
// says which one it is (Result.MemorySource).
type Meter interface {
	// UsedMemory returns the store's current size in bytes.
	UsedMemory(ctx context.Context) (int64, error)
	// Source names what UsedMemory measures, e.g. "redis used_memory".
	Source() string
}

// BatchMeter is a Meter that can also measure the bookkeeping of batches:
// the bytes of the keys holding their state (Redis: MEMORY USAGE of every
// {jl:b:<id>}:* key). Backends without a per-batch measure do not
// implement it, and the bench reports 0.
type BatchMeter interface {
	Meter
	BatchBytes(ctx context.Context, ids []string) (int64, error)
}
