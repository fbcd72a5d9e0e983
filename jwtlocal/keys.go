package jwtlocal

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/MicahParks/jwkset"

	"github.com/stytchguard/stytchguard/session"
)

// errEmptyKeySet is a JWKS answer with no usable RS256 key: it never
// replaces the keys already held.
var errEmptyKeySet = errors.New("jwtlocal: JWKS holds no usable RS256 key")

// keyStore is the jwkset.Storage keyfunc reads keys from. It holds the last
// good key set in memory; a kid it does not hold triggers a rate-limited
// refresh that the reading request waits for, but only briefly.
type keyStore struct {
	*jwkset.MemoryJWKSet
	v *Verifier
}

// KeyRead returns the key with this kid, refreshing the set once (paced)
// when it is unknown.
func (s keyStore) KeyRead(ctx context.Context, kid string) (jwkset.JWK, error) {
	k, err := s.MemoryJWKSet.KeyRead(ctx, kid)
	if !errors.Is(err, jwkset.ErrKeyNotFound) {
		return k, err
	}
	if s.v.awaitUnknownKIDRefresh(ctx) {
		return s.MemoryJWKSet.KeyRead(ctx, kid)
	}
	return k, err
}

// keysCurrent reports whether the key set held was fetched successfully
// within RefreshInterval (and a fetch's time) of now: then a kid it lacks is
// not the project's.
func (v *Verifier) keysCurrent(now time.Time) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return !v.lastGood.IsZero() && !now.After(v.lastGood.Add(v.cfg.RefreshInterval+v.cfg.FetchTimeout))
}

// awaitUnknownKIDRefresh starts a refresh if none is running and the pacing
// allows one, and waits for the running one up to UnknownKIDWait or ctx's
// end. It reports whether a refresh finished while it waited.
func (v *Verifier) awaitUnknownKIDRefresh(ctx context.Context) bool {
	v.mu.Lock()
	done := v.inflight
	if done == nil {
		if !v.mayRefreshLocked(true) {
			v.mu.Unlock()
			return false
		}
		done = v.startRefreshLocked(true)
	}
	v.mu.Unlock()
	t := time.NewTimer(v.cfg.UnknownKIDWait)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

// mayRefreshLocked reports whether a refresh may start now: none runs, the
// Verifier is not closed, no failure holds refreshes back (pace: 10 s at
// least, or Stytch's Retry-After), and, for a refresh asked for by an
// unknown kid (unknownKID), UnknownKIDRefreshInterval has passed since the
// last such one began. The caller holds v.mu.
func (v *Verifier) mayRefreshLocked(unknownKID bool) bool {
	return v.inflight == nil && v.ctx.Err() == nil && v.pace.Allow() == nil &&
		(!unknownKID || !v.cfg.Now().Before(v.nextUnknownRefresh))
}

// startRefreshLocked fetches the key set in the background and returns a
// channel closed when the fetch ends. A refresh for an unknown kid (paced)
// holds the next one back by UnknownKIDRefreshInterval from its start,
// unless it fails: then the pacing after a failure (v.pace) holds every
// refresh back instead. The caller holds v.mu.
func (v *Verifier) startRefreshLocked(paced bool) chan struct{} {
	done := make(chan struct{})
	v.inflight = done
	start := v.cfg.Now()
	if paced {
		v.nextUnknownRefresh = start.Add(v.cfg.UnknownKIDRefreshInterval)
	}
	v.wg.Add(1)
	go func() {
		defer v.wg.Done()
		ctx, cancel := context.WithTimeout(v.ctx, v.cfg.FetchTimeout)
		err := v.refresh(ctx)
		cancel()
		closed := v.ctx.Err() != nil
		v.mu.Lock()
		v.inflight = nil
		v.lastErr = err
		switch {
		case err == nil:
			v.lastGood = v.cfg.Now()
			v.pace.Succeeded()
		case closed:
		default:
			// The pacing after a failure governs now, for every refresh.
			v.nextUnknownRefresh = time.Time{}
			msg := "stytchguard: JWKS fetch failed; no key set is held: session JWTs are checked with Stytch, within the budget"
			if !v.lastGood.IsZero() {
				msg = "stytchguard: JWKS refresh failed; keeping the last good keys"
			}
			v.pace.Failed(v.ctx, err, slog.LevelWarn, msg, slog.Bool("b2b", v.b2b))
		}
		v.mu.Unlock()
		close(done)
	}()
	return done
}

// refresh fetches the key set and, when it holds at least one usable key,
// replaces the held one with it.
func (v *Verifier) refresh(ctx context.Context) error {
	var (
		set []session.JWK
		err error
	)
	if v.b2b {
		set, err = v.cfg.Client.B2B.JWKS(ctx)
	} else {
		set, err = v.cfg.Client.Consumer.JWKS(ctx)
	}
	if err != nil {
		return fmt.Errorf("jwtlocal: fetching JWKS: %w", err)
	}
	keys, ambiguous := v.usableKeys(set)
	if len(keys) == 0 {
		// Keep the keys held, but not their word on the kids two keys of
		// the answer share: a token naming one is the project's or not,
		// and only Stytch can say which.
		v.mu.Lock()
		v.ambiguousKIDs = ambiguous
		v.mu.Unlock()
		return errEmptyKeySet
	}
	old, err := v.keys.KeyReadAll(ctx)
	if err != nil {
		return fmt.Errorf("jwtlocal: reading keys: %w", err)
	}
	if err := v.keys.KeyReplaceAll(ctx, keys); err != nil {
		return fmt.Errorf("jwtlocal: storing keys: %w", err)
	}
	v.mu.Lock()
	v.ambiguousKIDs = ambiguous
	v.mu.Unlock()
	if v.cache != nil && retired(old, keys) {
		v.cache.purge() // tokens of a retired key must be verified again
	}
	return nil
}

// MinRSABits is the least modulus size of a key this package verifies
// with; a smaller key in the JWKS is left out, and logged once.
const MinRSABits = 2048

// usableKeys returns the RS256 signing keys of a JWKS answer that can be
// trusted, and the kids two different keys share. A key of another type or
// use, one without a kid, one that does not parse, one under MinRSABits,
// and every key of a shared kid are left out: a token naming a shared kid
// is inconclusive (KeyUnknown), never Invalid.
func (v *Verifier) usableKeys(set []session.JWK) (keys []jwkset.JWK, ambiguous []string) {
	byKID := map[string]*rsa.PublicKey{}
	for _, k := range set {
		if k.KTY != "RSA" || (k.Alg != "" && k.Alg != "RS256") || (k.Use != "" && k.Use != "sig") || k.KID == "" {
			continue
		}
		jwk, err := jwkset.NewJWKFromMarshal(jwkset.JWKMarshal{
			KTY: jwkset.KtyRSA, USE: jwkset.UseSig, ALG: jwkset.AlgRS256, KID: k.KID, N: k.N, E: k.E,
		}, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		if err != nil {
			continue // one broken key does not spoil the others
		}
		pub, ok := jwk.Key().(*rsa.PublicKey)
		if !ok {
			continue
		}
		if bits := pub.N.BitLen(); bits < MinRSABits {
			v.warnKey(k.KID, "stytchguard: a JWKS key is under 2048 bits and is not used; tokens it signed are refused", slog.Int("bits", bits))
			continue
		}
		if prev, seen := byKID[k.KID]; seen {
			if !prev.Equal(pub) && !slices.Contains(ambiguous, k.KID) {
				ambiguous = append(ambiguous, k.KID)
				v.warnKey(k.KID, "stytchguard: two different JWKS keys share a kid; tokens naming it are checked with Stytch")
			}
			continue
		}
		byKID[k.KID] = pub
		keys = append(keys, jwk)
	}
	keys = slices.DeleteFunc(keys, func(k jwkset.JWK) bool { return slices.Contains(ambiguous, k.Marshal().KID) })
	return keys, ambiguous
}

// warnKey logs msg once per kid.
func (v *Verifier) warnKey(kid, msg string, attrs ...any) {
	if !v.firstWarning(&v.warnedKeys, kid) {
		return
	}
	v.cfg.Logger.Warn(msg, append([]any{slog.String("kid", kid), slog.Bool("b2b", v.b2b)}, attrs...)...)
}

// ambiguous reports whether two different keys of the key set held share
// kid.
func (v *Verifier) ambiguous(kid string) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Contains(v.ambiguousKIDs, kid)
}

// retired reports whether a key of old is missing from now.
func retired(old, now []jwkset.JWK) bool {
	for _, o := range old {
		kid := o.Marshal().KID
		if !slices.ContainsFunc(now, func(n jwkset.JWK) bool { return n.Marshal().KID == kid }) {
			return true
		}
	}
	return false
}

// refreshLoop refreshes the key set every RefreshInterval until Close.
func (v *Verifier) refreshLoop() {
	defer v.wg.Done()
	t := time.NewTicker(v.cfg.RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-v.ctx.Done():
			return
		case <-t.C:
			v.mu.Lock()
			if v.mayRefreshLocked(false) {
				v.startRefreshLocked(false)
			}
			v.mu.Unlock()
		}
	}
}

// Ready reports whether a key set is held: nil once a fetch has brought
// one, whatever happened since (a held set keeps verifying through an
// outage). While none is held it starts a fetch, unless one is under way or
// the pacing holds it back, waits for it up to ctx's end, and returns what
// the last fetch failed with. Called before the app serves, with a
// deadline, it is the warm-up; a readiness probe calls it as often as it
// likes: after a failed fetch, it answers with that failure at once, and
// the next fetch waits 10 s at least, or Stytch's Retry-After when longer.
func (v *Verifier) Ready(ctx context.Context) error {
	for {
		v.mu.Lock()
		if !v.lastGood.IsZero() {
			v.mu.Unlock()
			return nil
		}
		done := v.inflight
		if done == nil && v.mayRefreshLocked(true) {
			done = v.startRefreshLocked(true)
		}
		last := v.lastErr
		v.mu.Unlock()
		if done == nil {
			if last == nil {
				last = errors.New("jwtlocal: no fetch has ended yet")
			}
			return fmt.Errorf("%w: %w", ErrKeyUnknown, last)
		}
		select {
		case <-done:
		case <-ctx.Done():
			return fmt.Errorf("%w: %w", ErrKeyUnknown, ctx.Err())
		}
	}
}

// Stats is a snapshot of a Verifier's state, for gauges.
type Stats struct {
	// Cached is how many verified tokens the cache holds.
	Cached int
	// KeysAge is how long ago, by Config.Now, a fetch last brought a
	// usable key set; negative while none has.
	KeysAge time.Duration
}

// Stats returns a snapshot of v's cache and key set. It takes each cache
// shard's lock in turn: for a metrics collection, not for every request.
func (v *Verifier) Stats() Stats {
	v.mu.Lock()
	at := v.lastGood
	v.mu.Unlock()
	s := Stats{KeysAge: -1}
	if !at.IsZero() {
		s.KeysAge = v.cfg.Now().Sub(at)
	}
	if v.cache != nil {
		s.Cached = v.cache.len()
	}
	return s
}
