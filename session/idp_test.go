package session_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// TestAuthorize drives a Connected Apps authorization request through the
// client, as an app's consent page does: start, then the person's decision.
func TestAuthorize(t *testing.T) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	srv.SetPolicy(session.Policy{
		Roles:  []session.Role{{RoleID: "stytch_user", Permissions: []session.Permission{{ResourceID: "notes", Actions: []string{"read"}}}}},
		Scopes: []session.Scope{{Scope: "notes:read", Permissions: []session.Permission{{ResourceID: "notes", Actions: []string{"read"}}}}, {Scope: "notes:write", Permissions: []session.Permission{{ResourceID: "notes", Actions: []string{"write"}}}}},
	})
	c := srv.Client()
	u := srv.CreateUser(stytchtest.UserParams{Email: "ann@example.com"})
	app, err := srv.RegisterConnectedApp("Agent", false, "http://127.0.0.1:9/cb")
	if err != nil {
		t.Fatal(err)
	}
	p := session.AuthorizeParams{ClientID: app.ClientID, RedirectURI: "http://127.0.0.1:9/cb", ResponseType: "code", Scopes: []string{"notes:read", "notes:write"}, UserID: u.UserID}
	ctx := context.Background()
	start, err := c.Consumer.AuthorizeStart(ctx, p)
	if err != nil || !start.ConsentRequired || start.Client.ClientName != "Agent" || start.UserID != u.UserID || len(start.ScopeResults) != 2 ||
		!start.ScopeResults[0].IsGrantable || start.ScopeResults[1].IsGrantable {
		t.Fatalf("start: %+v %v", start, err)
	}
	p.ConsentGranted, p.State, p.CodeChallenge = true, "xyz", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	done, err := c.Consumer.Authorize(ctx, p)
	back, _ := url.Parse(done.RedirectURI)
	if err != nil || back.Query().Get("code") != done.AuthorizationCode || done.AuthorizationCode == "" || back.Query().Get("state") != "xyz" {
		t.Fatalf("authorize: %+v %v", done, err)
	}
	p.ConsentGranted = false
	if done, err := c.Consumer.Authorize(ctx, p); err != nil || !strings.Contains(done.RedirectURI, "error=access_denied") {
		t.Fatalf("denied: %+v %v", done, err)
	}

	bad := []struct {
		name string
		mod  func(*session.AuthorizeParams)
	}{
		{"a redirect URI not the client's", func(p *session.AuthorizeParams) { p.RedirectURI = "https://evil.example/cb" }},
		{"an unknown client", func(p *session.AuthorizeParams) { p.ClientID = "connected-app-test-nope" }},
		{"a scope not in the policy", func(p *session.AuthorizeParams) { p.Scopes = []string{"admin"} }},
		{"a session token that is not one", func(p *session.AuthorizeParams) { p.UserID, p.SessionToken = "", "nope" }},
	}
	for _, tt := range bad {
		q := p
		tt.mod(&q)
		var apiErr *session.APIError
		if _, err := c.Consumer.AuthorizeStart(ctx, q); !errors.As(err, &apiErr) || apiErr.StatusCode < 400 {
			t.Errorf("%s: %v", tt.name, err)
		}
	}
}
