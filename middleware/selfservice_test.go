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

func TestSelfServiceSessions(t *testing.T) {
	for _, b2b := range []bool{false, true} {
		name := "consumer"
		if b2b {
			name = "b2b"
		}
		t.Run(name, func(t *testing.T) {
			srv := stytchtest.NewServer(stytchtest.WithFrozenClock(time.Now()))
			defer srv.Close()
			mw, err := middleware.New(middleware.Config{Client: lineClient(srv, b2b), Now: srv.Now})
			if err != nil {
				t.Fatal(err)
			}
			defer mw.Close()
			mux := http.NewServeMux()
			mux.Handle("GET /me", mw.Require(whoami))
			mux.Handle("/sessions/end", mw.EndSessionHandler())
			mux.Handle("/sessions/others", mw.SignOutOthersHandler())

			// Three devices of one person, and someone else.
			var mine []stytchtest.Tokens
			var stranger stytchtest.Tokens
			if b2b {
				org := srv.CreateOrganization(stytchtest.OrganizationParams{Name: "Acme"})
				m, _ := srv.CreateMember(org.OrganizationID, stytchtest.MemberParams{Email: "me@example.com"})
				o, _ := srv.CreateMember(org.OrganizationID, stytchtest.MemberParams{Email: "them@example.com"})
				for range 3 {
					tok, _ := srv.StartMemberSession(m.MemberID, stytchtest.SessionParams{})
					mine = append(mine, tok)
				}
				stranger, _ = srv.StartMemberSession(o.MemberID, stytchtest.SessionParams{})
			} else {
				u := srv.CreateUser(stytchtest.UserParams{Email: "me@example.com"})
				o := srv.CreateUser(stytchtest.UserParams{Email: "them@example.com"})
				for range 3 {
					tok, _ := srv.StartSession(u.UserID, stytchtest.SessionParams{})
					mine = append(mine, tok)
				}
				stranger, _ = srv.StartSession(o.UserID, stytchtest.SessionParams{})
			}
			here, phone, laptop := mine[0], mine[1], mine[2]
			get := func(tok stytchtest.Tokens) int {
				return (&app{h: mux}).do(req("GET", "/me", "jwt:"+tok.SessionJWT)).Code
			}
			end := func(id string) *httptest.ResponseRecorder {
				r := httptest.NewRequest("POST", "/sessions/end", strings.NewReader(url.Values{"session_id": {id}}.Encode()))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				r.AddCookie(&http.Cookie{Name: "stytch_session_jwt", Value: here.SessionJWT})
				rec := httptest.NewRecorder()
				mux.ServeHTTP(rec, r)
				return rec
			}

			// Someone else's session: 404, nothing ended, nothing asked to end.
			srv.ResetCalls()
			if rec := end(stranger.SessionID); rec.Code != http.StatusNotFound || !strings.Contains(rec.Body.String(), stytchguard.CodeUnknownSession) {
				t.Fatalf("ending another's session: %d %s", rec.Code, rec.Body)
			}
			if srv.Calls(stytchtest.Revoke)+srv.Calls(stytchtest.B2BRevoke) != 0 || get(stranger) != 200 || !srv.SessionAlive(stranger.SessionID) {
				t.Fatal("another's session was touched")
			}
			// The phone: ended at once, here; the others go on.
			if rec := end(phone.SessionID); rec.Code != http.StatusNoContent || len(rec.Result().Cookies()) != 0 {
				t.Fatalf("ending my phone's session: %d %v", rec.Code, rec.Result().Cookies())
			}
			if get(phone) != http.StatusUnauthorized || srv.SessionAlive(phone.SessionID) {
				t.Fatal("the ended session still works")
			}
			if get(here) != 200 || get(laptop) != 200 {
				t.Fatal("ending one session ended others")
			}
			// Sign out the other devices: the laptop ends, this one stays.
			r := httptest.NewRequest("POST", "/sessions/others", nil)
			r.AddCookie(&http.Cookie{Name: "stytch_session_jwt", Value: here.SessionJWT})
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, r)
			if rec.Code != http.StatusNoContent || len(rec.Result().Cookies()) != 0 {
				t.Fatalf("sign out others: %d %v", rec.Code, rec.Result().Cookies())
			}
			if get(laptop) != http.StatusUnauthorized || get(here) != 200 {
				t.Fatal("others not ended, or this one ended")
			}
			// Ending this very session is a logout.
			rec = end(here.SessionID)
			if rec.Code != http.StatusNoContent || cookies(rec)["stytch_session_jwt"] == nil || cookies(rec)["stytch_session_jwt"].MaxAge >= 0 {
				t.Fatalf("ending this session: %d %v", rec.Code, rec.Result().Cookies())
			}
			if get(here) != http.StatusUnauthorized {
				t.Fatal("this session still works")
			}
			// Cross-origin and GET are refused, as for logout.
			r = httptest.NewRequest("POST", "/sessions/end", strings.NewReader("session_id="+stranger.SessionID))
			r.Header.Set("Sec-Fetch-Site", "cross-site")
			rec = httptest.NewRecorder()
			mux.ServeHTTP(rec, r)
			if rec.Code != http.StatusForbidden {
				t.Fatalf("cross-site: %d", rec.Code)
			}
		})
	}
}
