// Package joblottest helps test code that uses joblot, in the tests of
// the programs that use it.
//
//   - RequireEnqueued, RequireNotEnqueued and RequireManyEnqueued assert on
//     what code under test enqueued, and show what was enqueued instead
//     when an assertion fails.
//   - Work runs one worker on one synthetic job (attempt, batch, ID of your
//     choosing) and reports the outcome a server would have given it.
//   - NewInlineClient returns a Client whose Enqueue runs the job at once
//     in the calling goroutine and returns its error.
//   - Drain runs everything enqueued in a store, scheduled jobs and
//     retries included, on a fake clock, until nothing is left to run.
//
// Every helper runs jobs through Server.RunOne, the code path a running
// Server uses, so outcomes are classified exactly as in production. They
// work on any backend.Backend: NewStore opens a temporary embedded store
// (no Redis needed), and a store opened with redis.Open works the same.
package joblottest
