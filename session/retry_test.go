package session_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

func newClient(t *testing.T, srv *stytchtest.Server, mod func(*session.Config)) *session.Client {
	t.Helper()
	cfg := srv.Config()
	cfg.Retry = &session.RetryPolicy{MaxAttempts: 3, BaseDelay: 10 * time.Millisecond, MaxDelay: 1500 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	c, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name      string
		endpoint  stytchtest.Endpoint
		fault     stytchtest.Fault
		call      func(*session.Client, stytchtest.Tokens) error
		wantCalls int
		wantKind  session.Kind // KindOther: success
	}{
		{"503 twice then success", stytchtest.Authenticate, stytchtest.Fault{Status: 503, Times: 2}, authToken, 3, session.KindOther},
		{"502 always: bounded", stytchtest.Authenticate, stytchtest.Fault{Status: 502}, authToken, 3, session.KindUnavailable},
		{"504 once", stytchtest.List, stytchtest.Fault{Status: 504, Times: 1}, list, 2, session.KindOther},
		{"dropped connection once", stytchtest.Authenticate, stytchtest.Fault{Drop: true, Times: 1}, authToken, 2, session.KindOther},
		{"dropped always: bounded", stytchtest.Revoke, stytchtest.Fault{Drop: true}, revoke, 3, session.KindUnavailable},
		{"429 once", stytchtest.Authenticate, stytchtest.Fault{Status: 429, Times: 1}, authToken, 2, session.KindOther},
		{"500 is not retried", stytchtest.Authenticate, stytchtest.Fault{Status: 500}, authToken, 1, session.KindUnavailable},
		{"malformed body is not retried", stytchtest.Authenticate, stytchtest.Fault{Malformed: true}, authToken, 1, session.KindUnavailable},
		{"404 is not retried", stytchtest.Authenticate, stytchtest.Fault{}, authUnknown, 1, session.KindSessionGone},
		{"400 is not retried", stytchtest.Authenticate, stytchtest.Fault{}, authNeither, 1, session.KindBadRequest},
		{"403 is not retried", stytchtest.Authenticate, stytchtest.Fault{}, authDenied, 1, session.KindForbidden},
		{"non-idempotent: 503 not retried", stytchtest.B2BExchange, stytchtest.Fault{Status: 503}, exchange, 1, session.KindUnavailable},
		{"non-idempotent: drop not retried", stytchtest.B2BExchange, stytchtest.Fault{Drop: true}, exchange, 1, session.KindUnavailable},
		{"non-idempotent: 429 retried", stytchtest.B2BExchange, stytchtest.Fault{Status: 429, Times: 1}, exchange, 2, session.KindOther},
		{"a proxy's 404 page is an outage", stytchtest.Authenticate, stytchtest.Fault{Status: 404, Body: "<html>not found</html>"}, authToken, 1, session.KindUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := stytchtest.NewServer()
			defer srv.Close()
			u := srv.CreateUser(stytchtest.UserParams{Email: "a@example.com"})
			tok, err := srv.StartSession(u.UserID, stytchtest.SessionParams{})
			if err != nil {
				t.Fatal(err)
			}
			if err := srv.AddMigrationToken("legacy", u.UserID); err != nil {
				t.Fatal(err)
			}
			if tt.fault != (stytchtest.Fault{}) {
				srv.InjectFault(tt.endpoint, tt.fault)
			}
			err = tt.call(newClient(t, srv, nil), tok)
			if got := session.Classify(err); got != tt.wantKind {
				t.Fatalf("kind %v (err %v), want %v", got, err, tt.wantKind)
			}
			if n := srv.Calls(tt.endpoint); n != tt.wantCalls {
				t.Fatalf("%d calls, want %d", n, tt.wantCalls)
			}
		})
	}
}

func authToken(c *session.Client, tok stytchtest.Tokens) error {
	_, err := c.Consumer.Authenticate(context.Background(), session.AuthenticateParams{SessionToken: tok.SessionToken})
	return err
}

func authUnknown(c *session.Client, _ stytchtest.Tokens) error {
	_, err := c.Consumer.Authenticate(context.Background(), session.AuthenticateParams{SessionToken: strings.Repeat("x", 44)})
	return err
}

func authNeither(c *session.Client, _ stytchtest.Tokens) error {
	_, err := c.Consumer.Authenticate(context.Background(), session.AuthenticateParams{})
	return err
}

func authDenied(c *session.Client, tok stytchtest.Tokens) error {
	_, err := c.Consumer.Authenticate(context.Background(), session.AuthenticateParams{SessionToken: tok.SessionToken, AuthorizationCheck: &session.AuthorizationCheck{ResourceID: "documents", Action: "write"}})
	return err
}

func list(c *session.Client, _ stytchtest.Tokens) error {
	_, err := c.Consumer.List(context.Background(), "user-test-00000000-0000-4000-8000-000000000000")
	if session.Classify(err) == session.KindSessionGone {
		return nil // the faults under test are gone; the user is simply unknown
	}
	return err
}

func revoke(c *session.Client, tok stytchtest.Tokens) error {
	err := c.Consumer.Revoke(context.Background(), session.RevokeParams{SessionID: tok.SessionID})
	return err
}

// exchange is a call Stytch does not treat as idempotent.
func exchange(c *session.Client, _ stytchtest.Tokens) error {
	_, err := c.B2B.Exchange(context.Background(), session.B2BExchangeParams{OrganizationID: "organization-test-1", SessionToken: "made-up"})
	if session.Classify(err) == session.KindSessionGone {
		return nil // the faults under test are gone; the token is simply unknown
	}
	return err
}

func TestRetryAfterIsHonoured(t *testing.T) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	c := newClient(t, srv, nil)
	srv.InjectFault(stytchtest.Policy, stytchtest.Fault{Status: 429, RetryAfter: time.Second, Times: 1})
	start := time.Now()
	if _, err := c.Consumer.Policy(context.Background()); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < time.Second {
		t.Fatalf("retried after %v, before the 1 s Retry-After", took)
	}
	if n := srv.Calls(stytchtest.Policy); n != 2 {
		t.Fatalf("%d calls", n)
	}

	// A Retry-After past MaxDelay fails at once and reports the wait.
	srv.ResetCalls()
	srv.InjectFault(stytchtest.Policy, stytchtest.Fault{Status: 429, RetryAfter: 30 * time.Second})
	start = time.Now()
	_, err := c.Consumer.Policy(context.Background())
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Fatalf("waited %v for a Retry-After it cannot honour", took)
	}
	if session.RetryAfter(err) != 30*time.Second || srv.Calls(stytchtest.Policy) != 1 {
		t.Fatalf("err %v, Retry-After %v, %d calls", err, session.RetryAfter(err), srv.Calls(stytchtest.Policy))
	}
}

func TestDeadlines(t *testing.T) {
	tests := []struct {
		name     string
		fault    stytchtest.Fault
		ctx      time.Duration // caller's deadline
		timeout  time.Duration // Config.Timeout
		maxTotal time.Duration
		maxCalls int
	}{
		{"caller deadline cuts a slow answer", stytchtest.Fault{Latency: 5 * time.Second}, 200 * time.Millisecond, 0, time.Second, 1},
		{"config timeout cuts a slow answer", stytchtest.Fault{Latency: 5 * time.Second}, 0, 200 * time.Millisecond, time.Second, 1},
		{"no retry wait past the deadline", stytchtest.Fault{Status: 429, RetryAfter: time.Second}, 300 * time.Millisecond, 0, 250 * time.Millisecond, 1},
		{"retries stop at the deadline", stytchtest.Fault{Status: 503, Latency: 120 * time.Millisecond}, 300 * time.Millisecond, 0, time.Second, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := stytchtest.NewServer()
			defer srv.Close()
			c := newClient(t, srv, func(cfg *session.Config) {
				if tt.timeout != 0 {
					cfg.Timeout = tt.timeout
				}
			})
			srv.InjectFault(stytchtest.Policy, tt.fault)
			cctx := context.Background()
			if tt.ctx > 0 {
				var cancel context.CancelFunc
				cctx, cancel = context.WithTimeout(cctx, tt.ctx)
				defer cancel()
			}
			start := time.Now()
			_, err := c.Consumer.Policy(cctx)
			took := time.Since(start)
			if !errors.Is(err, session.ErrUnavailable) {
				t.Fatalf("err %v", err)
			}
			if took > tt.maxTotal {
				t.Fatalf("took %v, bound %v", took, tt.maxTotal)
			}
			if n := srv.Calls(stytchtest.Policy); n > tt.maxCalls {
				t.Fatalf("%d calls, at most %d", n, tt.maxCalls)
			}
		})
	}
}

func TestResponseBodyIsSizeLimited(t *testing.T) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	c := newClient(t, srv, func(cfg *session.Config) { cfg.MaxResponseBytes = 1024 })
	srv.InjectFault(stytchtest.Policy, stytchtest.Fault{Body: `{"request_id":"` + strings.Repeat("x", 4096) + `"}`})
	_, err := c.Consumer.Policy(context.Background())
	if !errors.Is(err, session.ErrUnavailable) || !strings.Contains(err.Error(), "over 1024 bytes") {
		t.Fatalf("err %v", err)
	}
}

func TestSecretsNeverInErrors(t *testing.T) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	u := srv.CreateUser(stytchtest.UserParams{Email: "a@example.com"})
	tok, _ := srv.StartSession(u.UserID, stytchtest.SessionParams{})
	c := newClient(t, srv, nil)
	var errs []error
	for _, f := range []stytchtest.Fault{{Status: 500}, {Status: 503}, {Drop: true}, {Malformed: true}, {Status: 429, RetryAfter: time.Minute}, {Latency: time.Second}} {
		srv.ClearFaults()
		srv.InjectFault(stytchtest.Authenticate, f)
		cctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		_, err := c.Consumer.Authenticate(cctx, session.AuthenticateParams{SessionToken: tok.SessionToken})
		cancel()
		errs = append(errs, err)
	}
	srv.ClearFaults()
	_, err := c.Consumer.Authenticate(context.Background(), session.AuthenticateParams{SessionJWT: tok.SessionJWT + "x"})
	errs = append(errs, err)
	srv.RevokeSession(tok.SessionID)
	_, err = c.Consumer.Authenticate(context.Background(), session.AuthenticateParams{SessionToken: tok.SessionToken})
	errs = append(errs, err)
	for _, err := range errs {
		if err == nil {
			t.Fatal("expected an error")
		}
		for _, secret := range []string{srv.Secret(), tok.SessionToken, tok.SessionJWT[:40]} {
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error %q contains a secret", err)
			}
		}
	}
}

func TestUserAgentAndNoCredentialsForJWKS(t *testing.T) {
	var seen []*http.Request
	srv := stytchtest.NewServer()
	defer srv.Close()
	c := newClient(t, srv, func(cfg *session.Config) {
		cfg.UserAgent = "myapp/2"
		cfg.HTTPClient = &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
			seen = append(seen, r)
			return http.DefaultTransport.RoundTrip(r)
		})}
	})
	if _, err := c.Consumer.JWKS(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.B2B.Policy(context.Background()); err != nil {
		t.Fatal(err)
	}
	if seen[0].Header.Get("Authorization") != "" {
		t.Errorf("JWKS fetched with credentials")
	}
	if _, _, ok := seen[1].BasicAuth(); !ok {
		t.Errorf("policy fetched without credentials")
	}
	for _, r := range seen {
		if r.UserAgent() != "myapp/2" {
			t.Errorf("User-Agent %q", r.UserAgent())
		}
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
