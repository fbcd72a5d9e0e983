package jwtlocal

// HeadersRemembered exposes how many header segments v remembers.
func HeadersRemembered(v *Verifier) int {
	if m := v.headers.m.Load(); m != nil {
		return len(*m)
	}
	return 0
}

// StringEnd exposes stringEnd to the external tests.
func StringEnd(b []byte, i int) int { return stringEnd(b, i) }
