package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/stytchtest"
)

func TestSetAndClearSessionCookies(t *testing.T) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	tests := []struct {
		name     string
		cfg      middleware.Config
		secure   bool
		httpOnly bool
	}{
		{"defaults", middleware.Config{}, true, false},
		{"http-only, insecure, renamed", middleware.Config{Cookies: middleware.Cookies{HTTPOnly: true, Insecure: true, JWT: "jwt", Token: "tok"}}, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Client = srv.Client()
			mw, err := middleware.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer mw.Close()
			jwtName, tokName := "stytch_session_jwt", "stytch_session"
			if cfg.Cookies.JWT != "" {
				jwtName, tokName = cfg.Cookies.JWT, cfg.Cookies.Token
			}
			exp := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
			rec := httptest.NewRecorder()
			mw.SetSessionCookies(rec, middleware.SignedIn{SessionToken: "tok-value", SessionJWT: "jwt-value", ExpiresAt: exp})
			c := cookies(rec)
			for name, value := range map[string]string{jwtName: "jwt-value", tokName: "tok-value"} {
				got := c[name]
				if got == nil || got.Value != value || got.Path != "/" || got.SameSite != http.SameSiteLaxMode || got.Secure != tt.secure || got.HttpOnly != tt.httpOnly || !got.Expires.Equal(exp) {
					t.Fatalf("cookie %s: %+v", name, got)
				}
			}
			if ist := c["stytch_intermediate_session_token"]; ist == nil || ist.MaxAge >= 0 {
				t.Fatalf("a completed sign-in leaves the intermediate token: %+v", ist)
			}
			rec = httptest.NewRecorder()
			mw.SetSessionCookies(rec, middleware.SignedIn{SessionJWT: "only-jwt", ExpiresAt: exp})
			if _, ok := cookies(rec)[tokName]; ok {
				t.Fatal("an empty token was written")
			}
			rec = httptest.NewRecorder()
			mw.ClearSessionCookies(rec)
			for _, name := range []string{jwtName, tokName, "stytch_intermediate_session_token"} {
				if got := cookies(rec)[name]; got == nil || got.MaxAge >= 0 || got.Value != "" {
					t.Fatalf("not cleared: %s %+v", name, got)
				}
			}
		})
	}
}

func TestSignInRedirectKeepsTheReturnPathOnThisSite(t *testing.T) {
	a := newApp(t, func(c *middleware.Config) { c.SignInURL = "/sign-in?from=guard" })
	tests := []struct {
		name, method, target, accept string
		status                       int
		returnTo                     string
	}{
		{"a page", "GET", "/me?tab=2", "text/html,application/xhtml+xml", 303, "/me?tab=2"},
		{"absolute request target", "GET", "https://evil.example/me", "text/html", 303, "/me"},
		{"an API call", "GET", "/me", "application/json", 401, ""},
		{"no Accept", "GET", "/me", "", 401, ""},
		{"a form POST", "POST", "/logout", "text/html", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, "http://app.example/", nil)
			r.URL, _ = url.ParseRequestURI(tt.target)
			r.RequestURI = tt.target
			if tt.accept != "" {
				r.Header.Set("Accept", tt.accept)
			}
			rec := a.do(r)
			if tt.status == 0 {
				if rec.Code == http.StatusSeeOther && strings.Contains(rec.Header().Get("Location"), "sign-in") {
					t.Fatalf("a POST was redirected to sign in")
				}
				return
			}
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d", rec.Code, tt.status)
			}
			if tt.status != 303 {
				return
			}
			loc, err := url.Parse(rec.Header().Get("Location"))
			if err != nil || loc.Path != "/sign-in" || loc.Host != "" || loc.Query().Get("from") != "guard" {
				t.Fatalf("Location %q", rec.Header().Get("Location"))
			}
			if got := loc.Query().Get("return_to"); got != tt.returnTo {
				t.Fatalf("return_to %q, want %q", got, tt.returnTo)
			}
		})
	}
}

func TestHTMLErrorHandler(t *testing.T) {
	e := &stytchguard.Refusal{Status: 503, Code: stytchguard.CodeUnavailable, Message: "Stytch <script>alert(1)</script> is down", RetryAfter: 1500 * time.Millisecond}
	page := httptest.NewRequest("GET", "/", nil)
	page.Header.Set("Accept", "text/html")
	rec := httptest.NewRecorder()
	stytchguard.WriteRefusalPage(rec, page, e)
	if rec.Code != 503 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") || rec.Header().Get("Retry-After") != "2" {
		t.Fatalf("page: %d %v", rec.Code, rec.Header())
	}
	if strings.Contains(rec.Body.String(), "<script>") || !strings.Contains(rec.Body.String(), "Service Unavailable") {
		t.Fatalf("page body: %s", rec.Body)
	}
	api := httptest.NewRequest("GET", "/", nil)
	rec = httptest.NewRecorder()
	stytchguard.WriteRefusalPage(rec, api, e)
	if !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") || !strings.Contains(rec.Body.String(), `"error_type":"stytch_unavailable"`) {
		t.Fatalf("API: %v %s", rec.Header(), rec.Body)
	}
}

func TestReturnPath(t *testing.T) {
	tests := []struct{ target, want string }{
		{"/docs?tab=2&x=%2F", "/docs?tab=2&x=%2F"},
		{"/", "/"},
		{"//evil.example/path", "/"},
		{"///evil.example", "/"},
		{`/\evil.example`, "/"},
		{`/a\b`, "/"},
		{"https://evil.example/docs?x=1", "/docs?x=1"},
		{"/%2F%2Fevil.example", "/"}, // decoded, it would start with //
	}
	for _, tt := range tests {
		u, err := url.ParseRequestURI(tt.target)
		if err != nil {
			t.Fatalf("%s: %v", tt.target, err)
		}
		r := &http.Request{Method: "GET", URL: u}
		if got := middleware.ReturnPath(r); got != tt.want {
			t.Errorf("ReturnPath(%s) = %q, want %q", tt.target, got, tt.want)
		}
	}
}
