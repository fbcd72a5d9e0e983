package session_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/session"
)

// fixed answers every request with one status and body.
func fixed(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

func clientFor(t *testing.T, url string, mod func(*session.Config)) *session.Client {
	t.Helper()
	cfg := session.Config{ProjectID: "project-test-1", Secret: "secret-never-sent-elsewhere", BaseURL: url,
		Retry: &session.RetryPolicy{MaxAttempts: 2, BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond}}
	if mod != nil {
		mod(&cfg)
	}
	c, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const (
	liveSession = `"session":{"session_id":"session-test-1","user_id":"user-test-1","expires_at":"2099-01-01T00:00:00Z","roles":[],"authentication_factors":[]}`
	liveMember  = `"member_session":{"member_session_id":"session-test-1","member_id":"member-test-1","organization_id":"organization-test-1","expires_at":"2099-01-01T00:00:00Z"},` +
		`"member":{"member_id":"member-test-1","organization_id":"organization-test-1"},"organization":{"organization_id":"organization-test-1"}`
	envelope = `"request_id":"request-id-test-1","status_code":200`
)

// TestAnswersStytchWouldNotGive holds that a 2xx which is not a whole
// Stytch answer is an unavailable Stytch (ErrInvalidAnswer, never a
// session and never "session gone"), and that the whole answers pass.
func TestAnswersStytchWouldNotGive(t *testing.T) {
	type callFn func(context.Context, *session.Client) error
	consumerAuth := func(ctx context.Context, c *session.Client) error {
		_, err := c.Consumer.Authenticate(ctx, session.AuthenticateParams{SessionToken: "t"})
		return err
	}
	b2bAuth := func(ctx context.Context, c *session.Client) error {
		_, err := c.B2B.Authenticate(ctx, session.B2BAuthenticateParams{SessionToken: "t"})
		return err
	}
	list := func(ctx context.Context, c *session.Client) error {
		_, err := c.Consumer.List(ctx, "user-test-1")
		return err
	}
	revoke := func(ctx context.Context, c *session.Client) error {
		err := c.Consumer.Revoke(ctx, session.RevokeParams{SessionID: "session-test-1"})
		return err
	}
	policy := func(ctx context.Context, c *session.Client) error {
		_, err := c.Consumer.Policy(ctx)
		return err
	}
	exchange := func(ctx context.Context, c *session.Client) error {
		_, err := c.B2B.Exchange(ctx, session.B2BExchangeParams{OrganizationID: "organization-test-2", SessionToken: "t"})
		return err
	}
	smsAuth := func(ctx context.Context, c *session.Client) error {
		_, err := c.B2B.AuthenticateSMSOTP(ctx, session.SMSOTPAuthenticateParams{OrganizationID: "o", MemberID: "m", Code: "1", IntermediateSessionToken: "i"})
		return err
	}
	tests := []struct {
		name    string
		call    callFn
		body    string
		problem string // "" when the answer is whole
	}{
		{"authenticate: whole", consumerAuth, `{` + envelope + `,` + liveSession + `,"user":{"user_id":"user-test-1"}}`, ""},
		{"authenticate: empty object", consumerAuth, `{}`, "status_code"},
		{"authenticate: status only", consumerAuth, `{"status_code":200}`, "request_id"},
		{"authenticate: no session", consumerAuth, `{` + envelope + `}`, "session_id"},
		{"authenticate: empty ids", consumerAuth, `{` + envelope + `,"session":{"session_id":"","user_id":"","expires_at":"2099-01-01T00:00:00Z"}}`, "session_id"},
		{"authenticate: no expiry", consumerAuth, `{` + envelope + `,"session":{"session_id":"s","user_id":"u"},"user":{"user_id":"u"}}`, "expires_at"},
		{"authenticate: another user", consumerAuth, `{` + envelope + `,` + liveSession + `,"user":{"user_id":"user-test-2"}}`, "user_id"},
		{"authenticate: status_code 500", consumerAuth, `{"request_id":"r","status_code":500,` + liveSession + `,"user":{"user_id":"user-test-1"}}`, "status_code"},
		{"b2b authenticate: whole", b2bAuth, `{` + envelope + `,` + liveMember + `}`, ""},
		{"b2b authenticate: empty object", b2bAuth, `{}`, "status_code"},
		{"b2b authenticate: no organization", b2bAuth, `{` + envelope + `,"member_session":{"member_session_id":"s","member_id":"m","expires_at":"2099-01-01T00:00:00Z"},"member":{"member_id":"m"}}`, "organization_id"},
		{"b2b authenticate: another member", b2bAuth, `{` + envelope + `,"member_session":{"member_session_id":"s","member_id":"m","organization_id":"o","expires_at":"2099-01-01T00:00:00Z"},"member":{"member_id":"x"},"organization":{"organization_id":"o"}}`, "member_id"},
		{"list: whole", list, `{` + envelope + `,"sessions":[]}`, ""},
		{"list: no list", list, `{` + envelope + `}`, "sessions"},
		{"list: a session without id", list, `{` + envelope + `,"sessions":[{"user_id":"u","expires_at":"2099-01-01T00:00:00Z"}]}`, "session_id"},
		{"revoke: whole", revoke, `{` + envelope + `}`, ""},
		{"revoke: empty object", revoke, `{}`, "status_code"},
		{"policy: whole", policy, `{` + envelope + `,"policy":{"roles":[{"role_id":"stytch_user","permissions":[]}]}}`, ""},
		{"policy: none", policy, `{` + envelope + `}`, "no policy"},
		{"policy: no roles", policy, `{` + envelope + `,"policy":{"roles":[]}}`, "without roles"},
		{"policy: a role without id", policy, `{` + envelope + `,"policy":{"roles":[{"role_id":"","permissions":[]}]}}`, "role_id"},
		{"exchange: intermediate", exchange, `{` + envelope + `,"member_authenticated":false,"intermediate_session_token":"ist"}`, ""},
		{"exchange: nothing", exchange, `{` + envelope + `,"member_authenticated":false}`, "intermediate"},
		{"exchange: authenticated without session", exchange, `{` + envelope + `,"member_authenticated":true}`, "member_session"},
		{"sms authenticate: no session", smsAuth, `{` + envelope + `,"member_id":"m"}`, "member_session"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				fixed(http.StatusOK, tt.body)(w, r)
			}))
			defer srv.Close()
			err := tt.call(context.Background(), clientFor(t, srv.URL, nil))
			if tt.problem == "" {
				if err != nil {
					t.Fatalf("a whole answer refused: %v", err)
				}
				return
			}
			if !errors.Is(err, session.ErrInvalidAnswer) || session.Classify(err) != session.KindUnavailable {
				t.Fatalf("err %v (kind %v), want ErrInvalidAnswer, unavailable", err, session.Classify(err))
			}
			if !strings.Contains(err.Error(), tt.problem) {
				t.Fatalf("err %q does not name %q", err, tt.problem)
			}
			if n := calls.Load(); n != 1 {
				t.Fatalf("%d requests: an answer Stytch would not give is not one to retry", n)
			}
		})
	}
}

// TestNoRedirectFollowed holds that a 3xx from the base URL is an
// unavailable Stytch and that its target receives nothing: not the project
// secret (same host, another port), not a re-posted session token (307),
// whatever HTTP client the app supplied.
func TestNoRedirectFollowed(t *testing.T) {
	var reached atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		fixed(http.StatusOK, `{`+envelope+`,`+liveSession+`,"user":{"user_id":"user-test-1"}}`)(w, r)
	}))
	defer target.Close()
	clients := map[string]func(*session.Config){
		"default client": nil,
		"app's client":   func(c *session.Config) { c.HTTPClient = &http.Client{} },
		"app's follower": func(c *session.Config) {
			c.HTTPClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}
		},
		"app's transport": func(c *session.Config) {
			c.HTTPClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		},
	}
	for _, status := range []int{http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect, http.StatusMovedPermanently} {
		for name, mod := range clients {
			t.Run(http.StatusText(status)+"/"+name, func(t *testing.T) {
				redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					http.Redirect(w, r, target.URL+r.URL.Path, status)
				}))
				defer redirector.Close()
				before := reached.Load()
				c := clientFor(t, redirector.URL, mod)
				_, err := c.Consumer.Authenticate(context.Background(), session.AuthenticateParams{SessionToken: "a-session-token"})
				if session.Classify(err) != session.KindUnavailable {
					t.Fatalf("err %v, want unavailable", err)
				}
				if !strings.Contains(err.Error(), "redirect") {
					t.Fatalf("err %q does not say it was a redirect", err)
				}
				if _, err := c.Consumer.JWKS(context.Background()); session.Classify(err) != session.KindUnavailable {
					t.Fatalf("JWKS: err %v, want unavailable", err)
				}
				if n := reached.Load() - before; n != 0 {
					t.Fatalf("the redirect's target received %d requests", n)
				}
			})
		}
	}
	// The app's own client keeps its own rule.
	own := &http.Client{}
	clientFor(t, target.URL, func(c *session.Config) { c.HTTPClient = own })
	if own.CheckRedirect != nil {
		t.Fatal("the app's http.Client was changed")
	}
}
