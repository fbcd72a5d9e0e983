package demotest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
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
// 200 ms, as docs/reliability.md says).
func Within(t testing.TB, limit time.Duration, what string, check func() (seen string, done bool)) time.Duration {
	t.Helper()
	took, err := Poll(context.Background(), limit, what, check)
	if err != nil {
		t.Fatal(err)
	}
	return took
}

// Poll is Within for code that cannot fail a test itself (a callback the
// code under test calls, on its own goroutine): it returns how long the
// wait took, or an error that says what was awaited and what check last
// saw once limit has passed, or ctx ended, without check reporting done.
// check is tried once more at the deadline, so a slow poll never fails a
// condition that holds.
func Poll(ctx context.Context, limit time.Duration, what string, check func() (seen string, done bool)) (time.Duration, error) {
	start := time.Now()
	deadline := start.Add(limit)
	pause := 5 * time.Millisecond
	for {
		seen, done := check()
		if done {
			return time.Since(start), nil
		}
		if !time.Now().Before(deadline) {
			return time.Since(start), fmt.Errorf("waited %v for %s; last saw: %s", limit, what, seen)
		}
		// Back off from 5 ms to a tenth of the bound (at most 250 ms):
		// quick for what happens at once, light on a loaded machine for
		// what takes seconds.
		select {
		case <-ctx.Done():
			return time.Since(start), fmt.Errorf("gave up waiting for %s (%w); last saw: %s", what, ctx.Err(), seen)
		case <-time.After(min(pause, time.Until(deadline))):
		}
		pause = min(2*pause, limit/10, 250*time.Millisecond)
	}
}

// Loaded waits until the page of the chromedp context ctx has finished
// loading (document.readyState "complete": every element parsed, deferred
// scripts run), for AwaitTimeout at most. Run it after a wait for an element
// of a new page and before reading it: a page half-parsed under load shows
// a list without its last items.
func Loaded(ctx context.Context) error {
	_, err := Poll(ctx, AwaitTimeout, "the page to finish loading", func() (string, bool) {
		var state string
		if err := chromedp.Run(ctx, chromedp.Evaluate(`document.readyState`, &state)); err != nil {
			return err.Error(), false
		}
		return state, state == "complete"
	})
	return err
}
