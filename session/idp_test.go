package session_test

import (
	"context"
	"errors"
	"fmt"
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

// TestIntrospectAccessToken: Stytch's word on an access token, active or
// not, and an answer Stytch would never give refused.
func TestIntrospectAccessToken(t *testing.T) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	c := srv.Client()
	u := srv.CreateUser(stytchtest.UserParams{Email: "ann@example.com"})
	agent, _ := srv.RegisterConnectedApp("agent", false, "http://127.0.0.1:9/cb")
	rs, _ := srv.RegisterConnectedApp("resource server", true, "https://api.example.com/unused")
	tok, err := srv.IssueConnectedAppToken(u.UserID, agent.ClientID, "notes:read")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	p := session.IntrospectParams{Token: tok, ClientID: rs.ClientID, ClientSecret: rs.ClientSecret}
	got, err := c.IntrospectAccessToken(ctx, p)
	if err != nil || !got.Active || got.Subject != u.UserID || got.ClientID != agent.ClientID || got.Scope != "notes:read" || got.ExpiresAt == 0 || got.Issuer != srv.URL ||
		len(got.Audience) != 1 || got.Audience[0] != srv.ProjectID() {
		t.Fatalf("%+v %v", got, err)
	}
	// aud as RFC 7662 allows it: a string, or a list.
	for body, want := range map[string]string{
		`{"active":true,"sub":"u","client_id":"c","exp":9999999999,"aud":"project-1"}`:                             "[project-1]",
		`{"active":true,"sub":"u","client_id":"c","exp":9999999999,"aud":["project-1","https://api.example.com"]}`: "[project-1 https://api.example.com]",
		`{"active":true,"sub":"u","client_id":"c","exp":9999999999}`:                                               "[]",
	} {
		srv.InjectFault(stytchtest.OAuthIntrospect, stytchtest.Fault{Status: 200, Body: body})
		if got, err := c.IntrospectAccessToken(ctx, p); err != nil || fmt.Sprint(got.Audience) != want {
			t.Fatalf("answered %s: %+v %v, want aud %s", body, got, err, want)
		}
		srv.ClearFaults()
	}
	if err := srv.RevokeConnectedApp(u.UserID, agent.ClientID); err != nil {
		t.Fatal(err)
	}
	if got, err := c.IntrospectAccessToken(ctx, p); err != nil || got.Active || got.Subject != "" {
		t.Fatalf("revoked: %+v %v", got, err)
	}
	p.ClientSecret = "wrong"
	var apiErr *session.APIError
	if _, err := c.IntrospectAccessToken(ctx, p); !errors.As(err, &apiErr) || apiErr.ErrorType != "invalid_client" {
		t.Fatalf("a wrong client secret: %v", err)
	}
	for _, body := range []string{`{}`, `{"active":true}`, `{"active":true,"sub":"u","client_id":"c","exp":9999999999,"aud":[1]}`} {
		srv.InjectFault(stytchtest.OAuthIntrospect, stytchtest.Fault{Status: 200, Body: body})
		if _, err := c.IntrospectAccessToken(ctx, p); !errors.Is(err, session.ErrInvalidAnswer) {
			t.Fatalf("answered %s: %v", body, err)
		}
		srv.ClearFaults()
	}
}

// TestAuthorizeMember: the B2B consent calls, for a member named by their
// organization and id.
func TestAuthorizeMember(t *testing.T) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	srv.SetB2BPolicy(session.Policy{
		Roles:  []session.Role{{RoleID: "stytch_member", Permissions: []session.Permission{{ResourceID: "notes", Actions: []string{"read"}}}}},
		Scopes: []session.Scope{{Scope: "notes:read", Permissions: []session.Permission{{ResourceID: "notes", Actions: []string{"read"}}}}},
	})
	org := srv.CreateOrganization(stytchtest.OrganizationParams{Name: "Acme"})
	m, err := srv.CreateMember(org.OrganizationID, stytchtest.MemberParams{Email: "mia@acme.example"})
	if err != nil {
		t.Fatal(err)
	}
	app, _ := srv.RegisterConnectedApp("Agent", false, "http://127.0.0.1:9/cb")
	c := srv.B2BClient()
	p := session.AuthorizeParams{ClientID: app.ClientID, RedirectURI: "http://127.0.0.1:9/cb", ResponseType: "code", Scopes: []string{"notes:read"},
		OrganizationID: org.OrganizationID, MemberID: m.MemberID}
	start, err := c.B2B.AuthorizeStart(context.Background(), p)
	if err != nil || start.MemberID != m.MemberID || start.Member == nil || start.Member.MemberID != m.MemberID || start.Organization == nil ||
		start.Organization.OrganizationID != org.OrganizationID || start.User != nil || !start.ScopeResults[0].IsGrantable {
		t.Fatalf("%+v %v", start, err)
	}
	p.ConsentGranted, p.CodeChallenge = true, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	if done, err := c.B2B.Authorize(context.Background(), p); err != nil || done.AuthorizationCode == "" {
		t.Fatalf("%+v %v", done, err)
	}
}

// TestAuthorizeAnswersStytchWouldNotGive: a 2xx without the start's client
// and person, or a decision without an absolute redirect URI, is an
// unavailable Stytch, never consent given before nor a place to send the
// browser.
func TestAuthorizeAnswersStytchWouldNotGive(t *testing.T) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	c := srv.Client()
	p := session.AuthorizeParams{ClientID: "connected-app-test-1", RedirectURI: "http://127.0.0.1:9/cb", ResponseType: "code", UserID: "user-test-1"}
	for _, body := range []string{
		`{}`,
		`{"request_id":"r","status_code":200}`,
		`{"request_id":"r","status_code":200,"client":{"client_id":"c"}}`,
		`{"request_id":"r","status_code":200,"redirect_uri":"/relative?code=x"}`,
	} {
		srv.InjectFault(stytchtest.OAuthAuthorize, stytchtest.Fault{Status: 200, Body: body})
		if _, err := c.Consumer.AuthorizeStart(context.Background(), p); !errors.Is(err, session.ErrInvalidAnswer) || !errors.Is(err, session.ErrUnavailable) {
			t.Errorf("start answered %s: %v", body, err)
		}
		if _, err := c.Consumer.Authorize(context.Background(), p); !errors.Is(err, session.ErrInvalidAnswer) {
			t.Errorf("authorize answered %s: %v", body, err)
		}
		srv.ClearFaults()
	}
}
