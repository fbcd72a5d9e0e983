package middleware_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/authz"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/session"
)

// TestDiagnosis: with WriteRefusalExplained, every refusal says which check
// failed and with what, in a header and in the JSON, and never holds a
// credential; with the default WriteRefusal, neither appears.
func TestDiagnosis(t *testing.T) {
	for _, explained := range []bool{true, false} {
		a := newApp(t, func(c *middleware.Config) {
			if explained {
				c.ErrorHandler = stytchguard.WriteRefusalExplained
			}
		})
		a.srv.SetPolicy(session.Policy{Roles: []session.Role{
			{RoleID: "viewer", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"read"}}}},
			{RoleID: "editor", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"read", "write"}}}},
		}})
		rbac, err := authz.New(authz.Config{Client: a.srv.Client(), Now: a.srv.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(rbac.Close)
		ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
		mux := http.NewServeMux()
		mux.Handle("GET /me", a.mw.Require(ok))
		mux.Handle("POST /documents", a.mw.Require(rbac.Require("documents", "write")(ok)))
		mux.Handle("POST /transfer", a.mw.Require(a.mw.RequireFactor(10*time.Minute, middleware.Factor{Type: "otp", DeliveryMethod: "sms"})(ok)))
		mux.Handle("GET /reports", a.mw.RequireMachine("read:reports")(ok))

		_, viewer := a.user(t, "viewer")
		_, expired := a.user(t)
		if err := a.srv.RevokeSession(expired.SessionID); err != nil {
			t.Fatal(err)
		}
		_, machine := a.machine(t, "write:reports")
		tests := []struct {
			name, method, path, bearer string
			cookie                     string
			header                     map[string]string
			advance                    time.Duration
			want                       int
			diagnosis                  string
		}{
			{"no credential", "GET", "/me", "", "", nil, 0, 401, "no credential: no Authorization: Bearer header, and no stytch_session_jwt or stytch_session cookie"},
			{"garbage", "GET", "/me", "x.y.z", "", nil, 0, 401, "jwtlocal: invalid: malformed"},
			{"missing permission", "POST", "/documents", viewer.SessionJWT, "", nil, 0, 403, "held: stytch_user, viewer; documents:write is granted by: editor"},
			{"step-up", "POST", "/transfer", viewer.SessionJWT, "", nil, 0, 403, "the session's factors: magic_link/email 0s ago; accepted: otp/sms within 10m0s"},
			{"cross-origin", "POST", "/documents", "", viewer.SessionJWT, map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}, 0, 403, `Sec-Fetch-Site "cross-site", Origin "https://evil.example"`},
			{"a person on a machine route", "GET", "/reports", viewer.SessionJWT, "", nil, 0, 403, "a person's session JWT came"},
			{"scopes", "GET", "/reports", machine, "", nil, 0, 403, "grants write:reports"},
			{"expired and revoked", "GET", "/me", expired.SessionJWT, "", nil, 6 * time.Minute, 401, "checked here first: jwtlocal: stale: expired at "},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				a.srv.Advance(tt.advance)
				defer a.srv.Advance(-tt.advance)
				r := httptest.NewRequest(tt.method, tt.path, nil)
				if tt.bearer != "" {
					r.Header.Set("Authorization", "Bearer "+tt.bearer)
				}
				if tt.cookie != "" {
					r.AddCookie(&http.Cookie{Name: "stytch_session_jwt", Value: tt.cookie})
				}
				for k, v := range tt.header {
					r.Header.Set(k, v)
				}
				rec := httptest.NewRecorder()
				mux.ServeHTTP(rec, r)
				var body struct {
					Diagnosis string `json:"diagnosis"`
				}
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != tt.want {
					t.Fatalf("%d %s, want %d", rec.Code, rec.Body, tt.want)
				}
				header := rec.Header().Get("Stytchguard-Diagnosis")
				if !explained {
					if header != "" || body.Diagnosis != "" {
						t.Fatalf("a diagnosis without WriteRefusalExplained: %q %q", header, body.Diagnosis)
					}
					return
				}
				if !strings.Contains(body.Diagnosis, tt.diagnosis) || header != body.Diagnosis {
					t.Fatalf("diagnosis %q (header %q), want it to hold %q", body.Diagnosis, header, tt.diagnosis)
				}
				for _, secret := range []string{viewer.SessionJWT, viewer.SessionToken, expired.SessionJWT, machine, a.srv.Secret()} {
					if strings.Contains(rec.Body.String(), secret) || strings.Contains(header, secret) {
						t.Fatal("a credential in the diagnosis")
					}
				}
			})
		}
	}
}

// TestRefusalDebugLog: with the logger at debug level, a refusal logs its
// diagnosis (which check refused), and not the credential; at the default
// level it logs nothing.
func TestRefusalDebugLog(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelDebug, slog.LevelInfo} {
		var logs syncBuffer
		a := newApp(t, func(c *middleware.Config) {
			c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: level}))
		})
		h := a.mw.Require(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		const garbage = "eyJnYXJiYWdl.eyJzZWNyZXQtbWFya2Vy.c2ln"
		r := httptest.NewRequest("GET", "/me", nil)
		r.Header.Set("Authorization", "Bearer "+garbage)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		got := logs.String()
		if w.Code != http.StatusUnauthorized || strings.Contains(got, garbage) || strings.Contains(got, "eyJzZWNyZXQtbWFya2Vy") {
			t.Fatalf("%v: %d, or the token in the log:\n%s", level, w.Code, got)
		}
		if logged := strings.Contains(got, "stytchguard: refused") && strings.Contains(got, "diagnosis=") && strings.Contains(got, "error_type=invalid_token"); logged != (level == slog.LevelDebug) {
			t.Fatalf("at %v, logged: %v (%d)\n%s", level, logged, w.Code, got)
		}
	}
}
