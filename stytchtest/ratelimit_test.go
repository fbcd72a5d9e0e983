package stytchtest_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

func TestRateLimitAnswers429WithRetryAfter(t *testing.T) {
	e := newEnv(t, stytchtest.WithRateLimit(stytchtest.RateLimit{PerSecond: 2, Burst: 5}))
	_, tok := e.consumer(t, stytchtest.SessionParams{})
	for i := range 5 {
		if _, err := e.client.Consumer.Authenticate(ctx(t), session.AuthenticateParams{SessionToken: tok.SessionToken}); err != nil {
			t.Fatalf("call %d within the burst: %v", i+1, err)
		}
	}
	_, err := e.client.Consumer.Authenticate(ctx(t), session.AuthenticateParams{SessionToken: tok.SessionToken})
	wantAPIError(t, err, 429, "too_many_requests")
	if ra := session.RetryAfter(err); ra != time.Second {
		t.Fatalf("Retry-After %v, want 1s (one call back every 500 ms, rounded up)", ra)
	}
	if !errors.Is(err, session.ErrUnavailable) || errors.Is(err, session.ErrSessionGone) || errors.Is(err, session.ErrCredentials) {
		t.Fatalf("a rate limit reads as %v", err)
	}
	// The JWKS endpoints are not limited: verifiers must always get keys.
	if _, err := e.client.Consumer.JWKS(ctx(t)); err != nil {
		t.Fatalf("JWKS while limited: %v", err)
	}
	if got := e.Calls(stytchtest.Authenticate); got != 6 {
		t.Fatalf("%d calls counted, want 6: a refused call still reached Stytch", got)
	}
	e.Advance(500 * time.Millisecond) // the limits run on the emulator's clock
	if _, err := e.client.Consumer.Authenticate(ctx(t), session.AuthenticateParams{SessionToken: tok.SessionToken}); err != nil {
		t.Fatalf("after the rate refilled: %v", err)
	}
	e.SetRateLimit(stytchtest.RateLimit{})
	for range 20 {
		if _, err := e.client.Consumer.Authenticate(ctx(t), session.AuthenticateParams{SessionToken: tok.SessionToken}); err != nil {
			t.Fatalf("after SetRateLimit(zero): %v", err)
		}
	}
}

func TestTooFewTokensAuthenticated(t *testing.T) {
	e := newEnv(t, stytchtest.WithRateLimit(stytchtest.RateLimit{FailedShare: 0.5, MinCalls: 20}))
	u, tok := e.consumer(t, stytchtest.SessionParams{})
	_, _, mtok := e.b2b(t, stytchtest.OrganizationParams{Name: "Acme"})
	good := func(b2b bool) error {
		if b2b {
			_, err := e.client.B2B.Authenticate(ctx(t), session.B2BAuthenticateParams{SessionToken: mtok.SessionToken})
			return err
		}
		_, err := e.client.Consumer.Authenticate(ctx(t), session.AuthenticateParams{SessionToken: tok.SessionToken})
		return err
	}
	// Below MinCalls, failures alone do not trip the rule.
	for i := range 19 {
		_, err := e.client.Consumer.Authenticate(ctx(t), session.AuthenticateParams{SessionToken: strings.Repeat(string(rune('A'+i%26)), 44)})
		wantAPIError(t, err, 404, "session_not_found")
	}
	if err := good(false); err != nil {
		t.Fatalf("19 failures of 20 calls, below MinCalls: %v", err)
	}
	// 20 calls, 19 failed: over half. Authenticate is refused, good tokens
	// too, on both product lines; other endpoints are not.
	wantAPIError(t, good(false), 429, "too_few_tokens_authenticated")
	wantAPIError(t, good(true), 429, "too_few_tokens_authenticated")
	if _, err := e.client.Consumer.List(ctx(t), u.UserID); err != nil {
		t.Fatalf("list while authenticate is refused: %v", err)
	}
	if errors.Is(good(false), session.ErrSessionGone) {
		t.Fatal("too_few_tokens_authenticated reads as a sign-out")
	}
}
