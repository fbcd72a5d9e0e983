package demotest

import (
	"testing"
	"time"
)

// AwaitTimeout is how long Await waits for a condition: long enough for a
// loaded 2-core machine running the race detector beside Chromium, where a
// page load or a round trip through the emulator can take seconds. A
// condition that holds returns as soon as it is seen; only a failure waits
// this long.
const AwaitTimeout = 30 * time.Second

// Await polls check until it reports done, and fails t when AwaitTimeout
// passes first, with what was awaited and what check last saw. Use it after
// every action whose effect a test reads: a page that reloads, a log line,
// a server that starts listening, a fault that clears. It returns how long
// the wait took.
func Await(t testing.TB, what string, check func() (seen string, done bool)) time.Duration {
	t.Helper()
	return Within(t, AwaitTimeout, what, check)
}

// Within is Await with its own bound, for a wait whose bound is itself
// what the test asserts (a logout refused by another instance within
// 200 ms, as docs/reliability.md says): it fails t once limit has passed
// since the call and check has not reported done, and check is tried once
// more at the deadline, so a slow poll never fails a condition that holds.
func Within(t testing.TB, limit time.Duration, what string, check func() (seen string, done bool)) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(limit)
	pause := 5 * time.Millisecond
	for {
		seen, done := check()
		if done {
			return time.Since(start)
		}
		if !time.Now().Before(deadline) {
			t.Fatalf("waited %v for %s; last saw: %s", limit, what, seen)
		}
		// Back off from 5 ms to a tenth of the bound (at most 250 ms):
		// quick for what happens at once, light on a loaded machine for
		// what takes seconds.
		time.Sleep(min(pause, time.Until(deadline)))
		pause = min(2*pause, limit/10, 250*time.Millisecond)
	}
}
