package backend

// InFlightHinter is implemented by a backend whose writes are group
// committed, one durable commit (and its fsync) for every write waiting
// while the previous one was made durable: the more jobs a server keeps
// claimed or being acknowledged at once, the more each commit carries, so
// a server that holds few jobs spends its time waiting for fsyncs.
type InFlightHinter interface {
	// InFlightHint is how many jobs a server should hold at once (running
	// plus prefetched) to keep the commits full; a server whose
	// concurrency is lower defaults its Prefetch to make up the
	// difference. A Prefetch set by the user always wins.
	InFlightHint() int
}
