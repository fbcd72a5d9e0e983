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
