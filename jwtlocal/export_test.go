package jwtlocal

import "time"

// HeadersRemembered exposes how many header segments v remembers.
func HeadersRemembered(v *Verifier) int {
	if m := v.headers.m.Load(); m != nil {
		return len(*m)
	}
	return 0
}

// StringEnd exposes stringEnd to the external tests.
func StringEnd(b []byte, i int) int { return stringEnd(b, i) }

// Passes reports whether check passes s at now.
func (v *Verifier) Passes(s *Verified, now time.Time) bool {
	_, err := v.check(s, now)
	return err == nil
}

// Window exposes the cache's validity window of s.
func (v *Verifier) Window(s *Verified) (from, until int64) { return v.window(s) }

// OnKeyMiss makes v run f between a kid's miss and the test of its key set.
func OnKeyMiss(v *Verifier, f func()) { v.onKeyMiss = f }

// RefreshNow fetches v's key set (or waits for the fetch running) and
// returns when it ends.
func RefreshNow(v *Verifier) {
	v.mu.Lock()
	done := v.inflight
	if done == nil {
		done = v.startRefreshLocked(false)
	}
	v.mu.Unlock()
	<-done
}
