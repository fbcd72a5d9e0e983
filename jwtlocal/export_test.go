package jwtlocal

import (
	"context"
	"time"
)

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

// The kinds of a verification, as the tests name them.
type Outcome = kind

const (
	Valid         = kindValid
	Invalid       = kindInvalid
	Stale         = kindStale
	KeyUnknown    = kindKeyUnknown
	IssuerUnknown = kindIssuerUnknown
)

// OutcomeOf is kindOf.
var OutcomeOf = kindOf

// The defaults, as the tests name them.
const (
	DefaultMaxTokenAge               = defaultMaxTokenAge
	DefaultMaxTokenBytes             = defaultMaxTokenBytes
	DefaultCacheSize                 = defaultCacheSize
	DefaultUnknownKIDRefreshInterval = defaultUnknownKIDRefreshInterval
	DefaultRefreshInterval           = defaultRefreshInterval
)

// CacheLen returns how many verified tokens the cache holds.
func (v *Verifier) CacheLen() int {
	if v.cache == nil {
		return 0
	}
	return v.cache.len()
}

// VerifyMachine is Verify for M2M access tokens alone: a session JWT is
// invalid.
func (v *Verifier) VerifyMachine(ctx context.Context, token string) (*Verified, error) {
	got, err := v.Verify(ctx, token)
	if got != nil && got.Machine == nil {
		return nil, invalid("a session JWT, not an M2M access token", nil)
	}
	return got, err
}

// VerifySession is Verify for session JWTs alone: an M2M access token is
// invalid.
func (v *Verifier) VerifySession(ctx context.Context, token string) (*Verified, error) {
	got, err := v.Verify(ctx, token)
	if got != nil && got.Machine != nil {
		return nil, invalid("an M2M access token, not a session JWT", nil)
	}
	return got, err
}
