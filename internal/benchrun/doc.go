// Package benchrun is the engine behind `joblot bench`: a load generator
// that enqueues numbered no-op jobs, runs them in-process with a
// joblot.Server and accounts for every one of them in a ledger kept outside
// the system under test, so that a job the store lost shows up as lost
// instead of as a slightly better throughput figure.
//
// Every job carries its number (0..N-1) and its enqueue time in its args.
// The in-process ledger is a bitmap indexed by job number; the
// multi-process ledger (FileLedger) is a directory of append-only logs that
// survives SIGKILL of the processes writing it.
package benchrun
