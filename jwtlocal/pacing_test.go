package jwtlocal_test

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard/jwtlocal"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// TestJWKSFetchesPaced: while Stytch fails the key set, readiness probes
// and tokens naming unknown kids cost one fetch per pause: the 10 s floor,
// or Stytch's Retry-After when longer. Nothing waits meanwhile, and a
// success resets the pacing.
func TestJWKSFetchesPaced(t *testing.T) {
	for _, tc := range []struct {
		name       string
		fault      stytchtest.Fault
		shut, open time.Duration
	}{
		{"500", stytchtest.Fault{Status: 500}, 9 * time.Second, 13 * time.Second},
		{"429 with Retry-After 30", stytchtest.Fault{Status: 429, RetryAfter: 30 * time.Second}, 29 * time.Second, 30 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			emu := stytchtest.NewServer(stytchtest.WithFrozenClock(time.Now()))
			defer emu.Close()
			u := emu.CreateUser(stytchtest.UserParams{Email: "ada@example.com"})
			tok, err := emu.StartSession(u.UserID, stytchtest.SessionParams{})
			if err != nil {
				t.Fatal(err)
			}
			unknownKID := sign(t, jwt.SigningMethodRS256, newRSAKey(t), "made-up", claimsOf(t, tok.SessionJWT))
			emu.InjectFault(stytchtest.JWKS, tc.fault)
			v, err := jwtlocal.New(jwtlocal.Config{Client: emu.Client(), Now: emu.Now, InitialFetchWait: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			if n := emu.Calls(stytchtest.JWKS); n != 1 {
				t.Fatalf("%d fetches at New, want 1", n)
			}
			// probe is what a flood does: readiness probes and tokens with
			// unknown kids, at once.
			probe := func() {
				var wg sync.WaitGroup
				for i := range 40 {
					wg.Go(func() {
						if i%2 == 0 {
							if err := v.Ready(bg()); !errors.Is(err, jwtlocal.ErrKeyUnknown) {
								t.Errorf("Ready while failing: %v", err)
							}
							return
						}
						if _, err := v.Verify(bg(), unknownKID); jwtlocal.OutcomeOf(err) != jwtlocal.KeyUnknown {
							t.Errorf("an unknown kid while no key set is held: %v", err)
						}
					})
				}
				wg.Wait()
			}
			probe()
			emu.Advance(tc.shut)
			start := time.Now()
			probe()
			if took := time.Since(start); took > time.Second {
				t.Errorf("probes within the pause took %v: they must not wait", took)
			}
			if n := emu.Calls(stytchtest.JWKS); n != 1 {
				t.Fatalf("%d fetches %v after the failure, want 1", n, tc.shut)
			}
			emu.Advance(tc.open - tc.shut)
			probe()
			if n := emu.Calls(stytchtest.JWKS); n != 2 {
				t.Fatalf("%d fetches %v after the failure, want 2", n, tc.open)
			}
			emu.ClearFaults()
			emu.Advance(tc.open)
			if err := v.Ready(bg()); err != nil {
				t.Fatalf("after recovery: %v", err)
			}
			if _, err := v.Verify(bg(), tok.SessionJWT); err != nil {
				t.Fatalf("after recovery: %v", err)
			}
			// A success resets the pacing: one failure later, the next
			// refresh waits only its own pause.
			calls := emu.Calls(stytchtest.JWKS)
			emu.InjectFault(stytchtest.JWKS, stytchtest.Fault{Status: 500, Times: 1})
			emu.Advance(2 * time.Minute) // past UnknownKIDRefreshInterval
			// The key set held is current: an unknown kid is not the
			// project's, whether or not the refresh it asked for failed.
			if _, err := v.Verify(bg(), unknownKID); jwtlocal.OutcomeOf(err) != jwtlocal.Invalid {
				t.Fatalf("an unknown kid while the refresh fails: %v", err)
			}
			if n := emu.Calls(stytchtest.JWKS); n != calls+1 {
				t.Fatalf("%d fetches, want %d", n, calls+1)
			}
			emu.Advance(13 * time.Second)
			if _, err := v.Verify(bg(), unknownKID); jwtlocal.OutcomeOf(err) != jwtlocal.Invalid {
				t.Fatalf("an unknown kid after the pause: %v", err)
			}
			if n := emu.Calls(stytchtest.JWKS); n != calls+2 {
				t.Fatalf("%d fetches, want %d", n, calls+2)
			}
		})
	}
}
