package redistest

// StartSentinelServer starts a sentinel in dir monitoring master, like
// StartSentinel, for programs that are not tests (the fault harness); the
// caller must call Stop.
func StartSentinelServer(dir string, master *Server) (*Sentinel, error) {
	return startSentinel(dir, master)
}
