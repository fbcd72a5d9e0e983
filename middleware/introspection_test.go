package middleware_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// TestIntrospectionPaced: after a failed introspection, none is made for
// 10 s at least, or Stytch's Retry-After when longer, however many tokens
// ask; a token that verifies locally keeps its verdict meanwhile (200),
// and one that only Stytch could vouch for (no key set held) is answered
// 503 at once, with the pause as its Retry-After. A success resets it.
func TestIntrospectionPaced(t *testing.T) {
	for _, tc := range []struct {
		name       string
		fault      stytchtest.Fault
		shut, open time.Duration
	}{
		{"500", stytchtest.Fault{Status: 500}, 9 * time.Second, 13 * time.Second},
		{"429 with Retry-After 30", stytchtest.Fault{Status: 429, RetryAfter: 30 * time.Second}, 29 * time.Second, 30 * time.Second},
	} {
		for _, keyless := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/keyless=%v", tc.name, keyless), func(t *testing.T) {
				a, _, _, userID := introspectingApp(t, keyless, func(s string) string { return s })
				agent, err := a.srv.RegisterConnectedApp("another agent", false, "http://127.0.0.1:9/cb")
				if err != nil {
					t.Fatal(err)
				}
				tokens := make([]string, 8) // fewer than the ceiling's burst (10)
				for i := range tokens {
					if tokens[i], err = a.srv.IssueConnectedAppToken(userID, agent.ClientID, "notes:read"); err != nil {
						t.Fatal(err)
					}
				}
				want := 200 // a token that verifies locally keeps its verdict
				if keyless {
					want = 503
				}
				all := func(step string, wantCalls int) {
					t.Helper()
					for _, tok := range tokens {
						rec := a.do(req("GET", "/mcp", "bearer:"+tok))
						if rec.Code != want {
							t.Fatalf("%s: %d %s, want %d", step, rec.Code, rec.Body, want)
						}
						if want == 503 && rec.Header().Get("Retry-After") == "" {
							t.Fatalf("%s: 503 without Retry-After", step)
						}
					}
					if n := a.srv.Calls(stytchtest.OAuthIntrospect); n != wantCalls {
						t.Fatalf("%s: %d introspection calls, want %d", step, n, wantCalls)
					}
				}
				a.srv.Advance(2 * time.Minute) // past Introspection.After
				a.srv.ResetCalls()
				a.srv.InjectFault(stytchtest.OAuthIntrospect, tc.fault)
				all("the first failure", 1)
				a.srv.Advance(tc.shut)
				all("within the pause", 1)
				a.srv.Advance(tc.open - tc.shut)
				all("past the pause", 2)
				a.srv.ClearFaults()
				a.srv.Advance(tc.open)
				want = 200
				all("Stytch back: one call per token", 2+len(tokens))
				a.srv.InjectFault(stytchtest.OAuthIntrospect, stytchtest.Fault{Status: 500, Times: 1})
				a.srv.Advance(2 * time.Minute) // past RemoteTTL: each token is due again
				all("after a success, a failure pauses again", 3+len(tokens))
			})
		}
	}
}

// TestIntrospectionCeiling: 500 valid access tokens, each replayed once a
// minute for an hour, cost no more introspections than the ceiling
// (Introspection.Rate, 1 a second: 3,600 and a burst of 10), where each
// token alone would be asked once a minute past its fifth (27,500 calls);
// and every request is answered 200: a valid token is never refused for
// the ceiling.
func TestIntrospectionCeiling(t *testing.T) {
	if testing.Short() {
		t.Skip("an hour of settable clock: 30,000 requests")
	}
	srv := stytchtest.NewServer(stytchtest.WithFrozenClock(time.Now()))
	t.Cleanup(srv.Close)
	agent, err := srv.RegisterConnectedApp("agent", false, "http://127.0.0.1:9/cb")
	if err != nil {
		t.Fatal(err)
	}
	server, err := srv.RegisterConnectedApp("the resource server", true, "https://notes.example.com/unused")
	if err != nil {
		t.Fatal(err)
	}
	const n = 500
	tokens := make([]string, n)
	for i := range tokens {
		u := srv.CreateUser(stytchtest.UserParams{Email: fmt.Sprintf("user%d@example.com", i)})
		if tokens[i], err = srv.IssueConnectedAppToken(u.UserID, agent.ClientID, "notes:read"); err != nil {
			t.Fatal(err)
		}
	}
	a := newAppWith(t, srv, srv.Client(), &syncBuffer{}, nil)
	res, err := a.mw.Resource(middleware.ProtectedResource{URL: "https://notes.example.com/mcp",
		Introspection: &middleware.Introspection{ClientID: server.ClientID, ClientSecret: server.ClientSecret}})
	if err != nil {
		t.Fatal(err)
	}
	a.h.(*http.ServeMux).Handle("GET /mcp", res.Require("notes:read")(agentWho))
	srv.ResetCalls()
	step := time.Minute / n // each token once a minute, spread over it
	for minute := range 59 {
		for i, tok := range tokens {
			srv.Advance(step)
			rec := a.do(req("GET", "/mcp", "bearer:"+tok))
			if rec.Code != http.StatusOK {
				t.Fatalf("minute %d, token %d: %d %s", minute, i, rec.Code, rec.Body)
			}
		}
	}
	calls := srv.Calls(stytchtest.OAuthIntrospect)
	const ceiling = 59*60 + 10 // Rate 1/s over 59 minutes, and the burst
	t.Logf("500 tokens, each once a minute for 59 minutes: %d introspections (ceiling %d; unbounded: %d)", calls, ceiling, n*(59-5))
	if calls > ceiling {
		t.Fatalf("%d introspections, over the ceiling of %d", calls, ceiling)
	}
	if calls < ceiling*9/10 {
		t.Fatalf("%d introspections: the ceiling should be used, about %d", calls, ceiling)
	}
}
