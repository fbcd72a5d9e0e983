package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/examples/internal/demo"
	"github.com/stytchguard/stytchguard/examples/internal/demotest"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// TestAdminListener: /metrics only on the admin listener, the probes on
// the public one.
func TestAdminListener(t *testing.T) {
	demotest.RunAdminStory(t, run)
}

func TestStory(t *testing.T) {
	app := demotest.StartApp(t, demotest.AnyAdminPort(run))
	org := app.Organization()
	if !strings.HasPrefix(org, "organization-test-") {
		t.Fatalf("no demo organization printed: %v", app.Lines)
	}
	demotest.RunStory(t, app.URL, "/orgs/"+org)
}

// TestOrganizationsStayApart runs the app on an emulator with two
// organizations: a document written in one never shows in the other, and
// every route under another organization's /orgs/{id} is a 403 tenancy
// refusal.
func TestOrganizationsStayApart(t *testing.T) {
	emu := stytchtest.NewServer()
	defer emu.Close()
	emu.SetB2BPolicy(demo.Policy())
	app := demotest.StartAppWith(t, demotest.AnyAdminPort(run), map[string]string{
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
		if c != http.StatusForbidden || !strings.Contains(body, "session_authorization_tenancy_error") {
			t.Errorf("%s /orgs/<another>%s: %d %s", route.method, route.path, c, body)
		}
	}
	if c, _ := call("GET", "/orgs/"+globex.org+"/api/me", globex.jwt, nil); c != 200 {
		t.Fatalf("Globex's member lost their session to the refusals: %d", c)
	}
}

// TestDashboardChangesReachTheOtherDevice: a member signed in as an editor on
// one device is demoted, then removed, from another (the demo's stand-in for
// Stytch's dashboard); the emulator's webhook reaches the app and the first
// device's very next request reflects each change, although its JWT is
// still fresh.
func TestDashboardChangesReachTheOtherDevice(t *testing.T) {
	app := demotest.StartApp(t, demotest.AnyAdminPort(run))
	org := app.Organization()
	device := func() *http.Client {
		jar, _ := cookiejar.New(nil)
		return &http.Client{Jar: jar}
	}
	editor, admin := device(), device()
	post := func(c *http.Client, path string, form url.Values) int {
		t.Helper()
		resp, err := c.PostForm(app.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	get := func(c *http.Client, path string) int {
		t.Helper()
		resp, err := c.Get(app.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if c := post(editor, "/demo/login", url.Values{"email": {"grace@example.com"}, "role": {"editor"}}); c != 200 {
		t.Fatalf("sign-in: %d", c)
	}
	docs := "/orgs/" + org + "/api/documents"
	if c := post(editor, docs, url.Values{"title": {"before"}}); c != http.StatusCreated {
		t.Fatalf("an editor's write: %d", c)
	}
	// Within a second, as docs/security.md says.
	within := func(what string, want int, req func() int) {
		t.Helper()
		took := demotest.Within(t, time.Second, fmt.Sprintf("%s to answer %d", what, want), func() (string, bool) {
			got := req()
			return fmt.Sprintf("%d", got), got == want
		})
		t.Logf("%s: %d after %v", what, want, took)
	}
	if c := post(admin, "/demo/admin", url.Values{"email": {"grace@example.com"}, "action": {"demote"}}); c != 200 {
		t.Fatalf("demote: %d", c)
	}
	within("write after the demotion", http.StatusForbidden, func() int { return post(editor, docs, url.Values{"title": {"after"}}) })
	if c := get(editor, docs); c != 200 {
		t.Fatalf("a viewer's read: %d", c)
	}
	if c := post(admin, "/demo/admin", url.Values{"email": {"grace@example.com"}, "action": {"remove"}}); c != 200 {
		t.Fatalf("remove: %d", c)
	}
	within("request after the removal", http.StatusUnauthorized, func() int { return get(editor, "/orgs/"+org+"/api/me") })
}

// TestMFAPageShowsOnlyItsOwnCode: the emulator's code is shown on the MFA
// page only to the browser whose intermediate session it was sent for. A
// made-up intermediate cookie with another member's id in the query sees
// no code, and cannot have one sent.
func TestMFAPageShowsOnlyItsOwnCode(t *testing.T) {
	app := demotest.StartApp(t, demotest.AnyAdminPort(run))
	orgs := app.Organizations()
	device := func(email string) *http.Client {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		resp, err := c.PostForm(app.URL+"/demo/login", url.Values{"email": {email}, "role": {"viewer"}})
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("sign-in: %v", err)
		}
		resp.Body.Close()
		return c
	}
	page := func(c *http.Client, method, path string, form url.Values) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, app.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "text/html")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	victim := device("grace@example.com")
	code, body := page(victim, "POST", "/orgs/"+orgs[0]+"/switch", url.Values{"organization_id": {orgs[1]}})
	if code != 200 || !strings.Contains(body, `"mfa_required":true`) {
		t.Fatalf("switch: %d %s", code, body)
	}
	var memberID string
	if _, rest, ok := strings.Cut(body, `"member_id":"`); ok {
		memberID, _, _ = strings.Cut(rest, `"`)
	}
	query := "?" + url.Values{"organization_id": {orgs[1]}, "member_id": {memberID}}.Encode()
	if code, body = page(victim, "POST", "/mfa/send"+query, nil); code != 200 || !strings.Contains(body, `id="demo-code"`) {
		t.Fatalf("the member's own code: %d %s", code, body)
	}
	_, rest, _ := strings.Cut(body, `class="code">`)
	sent, _, _ := strings.Cut(rest, "<")

	attacker := device("mallory@example.com")
	u, _ := url.Parse(app.URL)
	attacker.Jar.SetCookies(u, []*http.Cookie{{Name: "stytch_intermediate_session_token", Value: "made-up"}})
	for _, try := range []struct{ method, path string }{{"GET", "/mfa" + query + "&sent=1"}, {"POST", "/mfa/send" + query}} {
		code, body := page(attacker, try.method, try.path, nil)
		if code != http.StatusUnauthorized || strings.Contains(body, sent) || strings.Contains(body, `id="demo-code"`) {
			t.Fatalf("%s %s with a made-up intermediate cookie: %d, shows the code: %v", try.method, try.path, code, strings.Contains(body, sent))
		}
	}
}
