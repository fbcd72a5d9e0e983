package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stytchguard/stytchguard/examples/internal/demo"
	"github.com/stytchguard/stytchguard/examples/internal/demotest"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// TestConsentPageFailsClosed: when what answers for Stytch's authorize
// calls is not Stytch (a proxy's 200 with an empty body, a captive
// portal's redirect), the consent page answers 503 and sends the browser
// nowhere: such an answer is neither consent given before nor a redirect
// to follow.
func TestConsentPageFailsClosed(t *testing.T) {
	for _, tt := range []struct {
		name  string
		fault stytchtest.Fault
	}{
		{"a 2xx without an answer", stytchtest.Fault{Status: http.StatusOK, Body: `{}`}},
		{"a 2xx with another request's envelope only", stytchtest.Fault{Status: http.StatusOK, Body: `{"request_id":"r","status_code":200}`}},
		{"a redirect", stytchtest.Fault{Status: http.StatusFound}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := startStory(t)
			p := s.person(t, demo.RoleEditor)
			app, err := s.emu.RegisterConnectedApp("Agent", false, "http://127.0.0.1:9/cb")
			if err != nil {
				t.Fatal(err)
			}
			s.emu.InjectFault(stytchtest.OAuthAuthorize, tt.fault)
			q := url.Values{"client_id": {app.ClientID}, "redirect_uri": {"http://127.0.0.1:9/cb"}, "response_type": {"code"},
				"scope": {"documents:read"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "state": {"s"}}
			browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			for _, r := range []*http.Request{
				mustRequest(t, "GET", s.app.URL+"/oauth/authorize?"+q.Encode(), "", p.jwt),
				mustRequest(t, "POST", s.app.URL+"/oauth/authorize", q.Encode()+"&decision=approve", p.jwt),
			} {
				res, err := browser.Do(r)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Location") != "" {
					t.Fatalf("%s %s: %d, Location %q", r.Method, r.URL.Path, res.StatusCode, res.Header.Get("Location"))
				}
			}
		})
	}
}

func mustRequest(t *testing.T, method, target, form, jwt string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(method, target, strings.NewReader(form))
	if err != nil {
		t.Fatal(err)
	}
	if form != "" {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	r.AddCookie(&http.Cookie{Name: "stytch_session_jwt", Value: jwt})
	return r
}

// TestDemoLoginSameOrigin: the emulator's sign-in form takes a post from
// the app's own pages only; another site's (login CSRF: signing the
// person in as someone else, whose consent the agent then gets) is 403.
func TestDemoLoginSameOrigin(t *testing.T) {
	app := demotest.StartApp(t, run)
	for _, tt := range []struct {
		site   string
		status int
	}{{"cross-site", http.StatusForbidden}, {"same-origin", http.StatusSeeOther}} {
		form := url.Values{"email": {"ann@example.com"}, "name": {"Ann"}, "role": {"viewer"}, "return_to": {"/"}}
		r, err := http.NewRequest("POST", app.URL+"/demo/login", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Sec-Fetch-Site", tt.site)
		if tt.site == "cross-site" {
			r.Header.Set("Origin", "https://evil.example")
		}
		browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		res, err := browser.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		signedIn := false
		for _, c := range res.Cookies() {
			signedIn = signedIn || c.Name == "stytch_session_jwt" && c.Value != ""
		}
		if res.StatusCode != tt.status || signedIn != (tt.status == http.StatusSeeOther) {
			t.Fatalf("%s: %d, signed in %v", tt.site, res.StatusCode, signedIn)
		}
	}
}
