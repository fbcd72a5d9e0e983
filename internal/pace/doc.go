// Package pace holds back what the library asks of Stytch on its own (the
// key set, RBAC policies, token introspection, readiness warm-ups) after a
// failure, so that no number of requests or probes can turn an outage at
// Stytch into a flood of calls to it.
//
// The rule is one for every resource: after a failure, no new call for the
// larger of a floor (Floor, jittered up to a quarter more, so that the
// instances of an app do not call in step) and Stytch's Retry-After. A
// success resets it. Meanwhile callers use the last good answer, or the
// last error, at once: nobody waits for a call that is not allowed to
// start. Failures are logged at most once a LogEvery per resource, with
// the count of lines held back.
package pace
