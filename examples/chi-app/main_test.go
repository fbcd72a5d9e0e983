package main

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stytchguard/stytchguard/examples/internal/demo"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

func TestStory(t *testing.T) {
	app := demo.StartApp(t, run)
	org := ""
	for _, l := range app.Lines {
		if rest, ok := strings.CutPrefix(l, "demo organization "); ok {
			org, _, _ = strings.Cut(rest, " ")
		}
	}
	if !strings.HasPrefix(org, "organization-test-") {
		t.Fatalf("no demo organization printed: %v", app.Lines)
	}
	demo.RunStory(t, app.URL, "/orgs/"+org)
}

// TestOrganizationsStayApart runs the app on an emulator with two
// organizations: a document written in one never shows in the other, and
// every route under another organization's /orgs/{id} is a 403 tenancy
// refusal.
func TestOrganizationsStayApart(t *testing.T) {
	emu := stytchtest.NewServer()
	defer emu.Close()
	emu.SetB2BPolicy(demo.Policy(session.RoleStytchMember, session.RoleStytchAdmin))
	app := demo.StartAppWith(t, run, map[string]string{
		"STYTCH_PROJECT_ID": emu.ProjectID(), "STYTCH_SECRET": emu.Secret(), "STYTCH_BASE_URL": emu.URL,
	})
	type member struct {
		org string
		jwt string
	}
	join := func(name string) member {
		o := emu.CreateOrganization(stytchtest.OrganizationParams{Name: name})
		m, err := emu.CreateMember(o.OrganizationID, stytchtest.MemberParams{Email: "ed@" + strings.ToLower(name) + ".example", Roles: []string{demo.RoleEditor}})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := emu.StartMemberSession(m.MemberID, stytchtest.SessionParams{})
		if err != nil {
			t.Fatal(err)
		}
		return member{o.OrganizationID, tok.SessionJWT}
	}
	acme, globex := join("Acme"), join("Globex")
	call := func(method, path, jwt string, form url.Values) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, app.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: "stytch_session_jwt", Value: jwt})
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if c, body := call("POST", "/orgs/"+acme.org+"/api/documents", acme.jwt, url.Values{"title": {"Acme secret plan"}}); c != http.StatusCreated {
		t.Fatalf("write in Acme: %d %s", c, body)
	}
	if c, body := call("GET", "/orgs/"+globex.org+"/api/documents", globex.jwt, nil); c != 200 || strings.Contains(body, "Acme secret plan") {
		t.Fatalf("Globex's list: %d %s", c, body)
	}
	if c, body := call("GET", "/orgs/"+acme.org+"/api/documents", acme.jwt, nil); c != 200 || !strings.Contains(body, "Acme secret plan") {
		t.Fatalf("Acme's list: %d %s", c, body)
	}
	for _, route := range []struct{ method, path string }{
		{"GET", "/api/me"}, {"GET", "/api/sessions"}, {"GET", "/api/documents"}, {"POST", "/api/documents"},
		{"POST", "/logout"}, {"POST", "/logout-all"},
	} {
		c, body := call(route.method, "/orgs/"+acme.org+route.path, globex.jwt, url.Values{"title": {"planted"}})
		if c != http.StatusForbidden || !strings.Contains(body, session.ErrorTypeSessionAuthorizationTenancy) {
			t.Errorf("%s /orgs/<another>%s: %d %s", route.method, route.path, c, body)
		}
	}
	if c, _ := call("GET", "/orgs/"+globex.org+"/api/me", globex.jwt, nil); c != 200 {
		t.Fatalf("Globex's member lost their session to the refusals: %d", c)
	}
}
