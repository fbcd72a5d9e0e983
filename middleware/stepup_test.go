package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

func TestRequireFactor(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	email := session.AuthenticationFactor{Type: "magic_link", DeliveryMethod: "email", EmailFactor: &session.EmailFactor{EmailID: "email-test-1", EmailAddress: "a@example.com"}}
	factor := func(typ, method string, ago time.Duration) session.AuthenticationFactor {
		t := session.NewTime(now.Add(-ago))
		return session.AuthenticationFactor{Type: typ, DeliveryMethod: method, LastAuthenticatedAt: t, CreatedAt: t, UpdatedAt: t}
	}
	accepted := []middleware.Factor{{Type: "totp"}, {Type: "otp", DeliveryMethod: "sms"}}
	tests := []struct {
		name    string
		b2b     bool
		factors []session.AuthenticationFactor
		via     string // "jwt" or "token": verified locally or by Stytch
		want    int
	}{
		{"primary factor only", false, []session.AuthenticationFactor{email}, "jwt", 403},
		{"TOTP 5 minutes ago", false, []session.AuthenticationFactor{email, factor("totp", "authenticator_app", 5*time.Minute)}, "jwt", 200},
		{"TOTP 5 minutes ago, asked of Stytch", false, []session.AuthenticationFactor{email, factor("totp", "authenticator_app", 5*time.Minute)}, "token", 200},
		{"TOTP 20 minutes ago", false, []session.AuthenticationFactor{email, factor("totp", "authenticator_app", 20*time.Minute)}, "jwt", 403},
		{"an email OTP where SMS is asked", false, []session.AuthenticationFactor{factor("otp", "email", time.Minute)}, "jwt", 403},
		{"an SMS OTP", false, []session.AuthenticationFactor{factor("otp", "sms", time.Minute)}, "jwt", 200},
		{"B2B member with TOTP", true, []session.AuthenticationFactor{email, factor("totp", "authenticator_app", time.Minute)}, "jwt", 200},
		{"B2B member without", true, []session.AuthenticationFactor{email}, "token", 403},
		{"no session", false, nil, "", 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := stytchtest.NewServer(stytchtest.WithFrozenClock(now))
			defer srv.Close()
			mw, err := middleware.New(middleware.Config{Client: lineClient(srv, tt.b2b), Now: srv.Now})
			if err != nil {
				t.Fatal(err)
			}
			defer mw.Close()
			h := mw.Require(mw.RequireFactor(10*time.Minute, accepted...)(whoami))
			r := httptest.NewRequest("POST", "/transfer", nil)
			if tt.factors != nil {
				var tok stytchtest.Tokens
				if tt.b2b {
					org := srv.CreateOrganization(stytchtest.OrganizationParams{Name: "Acme"})
					m, _ := srv.CreateMember(org.OrganizationID, stytchtest.MemberParams{Email: "a@example.com"})
					tok, err = srv.StartMemberSession(m.MemberID, stytchtest.SessionParams{Factors: tt.factors})
				} else {
					u := srv.CreateUser(stytchtest.UserParams{Email: "a@example.com"})
					tok, err = srv.StartSession(u.UserID, stytchtest.SessionParams{Factors: tt.factors})
				}
				if err != nil {
					t.Fatal(err)
				}
				cred := tok.SessionJWT
				if tt.via == "token" {
					cred = tok.SessionToken
				}
				r.Header.Set("Authorization", "Bearer "+cred)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			if tt.want == http.StatusForbidden {
				b := body(t, rec)
				ch := rec.Header().Get("WWW-Authenticate")
				if b["error_type"] != stytchguard.CodeStepUpRequired || !strings.Contains(rec.Body.String(), `"factors":["totp","otp/sms"]`) ||
					!strings.Contains(ch, `error="insufficient_user_authentication"`) || !strings.Contains(ch, `max_age="600"`) || !strings.Contains(ch, `factors="totp otp/sms"`) {
					t.Fatalf("refusal %s, challenge %q", rec.Body, ch)
				}
			}
		})
	}
}
