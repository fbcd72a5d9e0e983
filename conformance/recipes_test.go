package conformance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// The session management recipes of shared/seeds/002, through the client. A
// login (magic_links/authenticate with session_duration_minutes) is stood in
// for by the emulator's StartSession with the same duration.
func TestRecipes(t *testing.T) {
	const thirtyDays = 43200
	ctx := context.Background()
	day := 24 * time.Hour

	t.Run("remember me for 30 days after login", func(t *testing.T) {
		srv, hc := validatedServer(t)
		c := clientFor(t, srv, hc)
		u := srv.CreateUser(stytchtest.UserParams{Email: "a@example.com"})
		tok, _ := srv.StartSession(u.UserID, stytchtest.SessionParams{Duration: thirtyDays * time.Minute})
		end := srv.Now().Add(30 * day)
		for _, after := range []time.Duration{10 * day, 19 * day} {
			srv.Advance(after)
			res, err := c.Consumer.Authenticate(ctx, session.AuthenticateParams{SessionToken: tok.SessionToken})
			if err != nil {
				t.Fatal(err)
			}
			if !res.Session.ExpiresAt.Equal(end) {
				t.Fatalf("expires_at moved to %v, want %v", res.Session.ExpiresAt, end)
			}
		}
		srv.Advance(day + time.Minute)
		_, err := c.Consumer.Authenticate(ctx, session.AuthenticateParams{SessionToken: tok.SessionToken})
		if !errors.Is(err, session.ErrSessionGone) {
			t.Fatalf("after 30 days: %v", err)
		}
	})

	t.Run("remember me for 30 days since you last saw me", func(t *testing.T) {
		srv, hc := validatedServer(t)
		c := clientFor(t, srv, hc)
		u := srv.CreateUser(stytchtest.UserParams{Email: "a@example.com"})
		tok, _ := srv.StartSession(u.UserID, stytchtest.SessionParams{Duration: thirtyDays * time.Minute})
		for i := 0; i < 4; i++ { // 80 days of visits every 20 days
			srv.Advance(20 * day)
			res, err := c.Consumer.Authenticate(ctx, session.AuthenticateParams{SessionToken: tok.SessionToken, SessionDurationMinutes: thirtyDays})
			if err != nil {
				t.Fatalf("visit %d: %v", i+1, err)
			}
			if want := srv.Now().Add(30 * day); !res.Session.ExpiresAt.Equal(want) {
				t.Fatalf("visit %d: expires_at %v, want %v", i+1, res.Session.ExpiresAt, want)
			}
		}
		srv.Advance(30*day + time.Minute)
		_, err := c.Consumer.Authenticate(ctx, session.AuthenticateParams{SessionToken: tok.SessionToken, SessionDurationMinutes: thirtyDays})
		if !errors.Is(err, session.ErrSessionGone) {
			t.Fatalf("after 30 days away: %v", err)
		}
	})

	t.Run("log out a user", func(t *testing.T) {
		srv, hc := validatedServer(t)
		c := clientFor(t, srv, hc)
		u := srv.CreateUser(stytchtest.UserParams{Email: "a@example.com"})
		laptop, _ := srv.StartSession(u.UserID, stytchtest.SessionParams{})
		phone, _ := srv.StartSession(u.UserID, stytchtest.SessionParams{})
		if err := c.Consumer.Revoke(ctx, session.RevokeParams{SessionID: laptop.SessionID}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Consumer.Authenticate(ctx, session.AuthenticateParams{SessionToken: laptop.SessionToken}); !errors.Is(err, session.ErrSessionGone) {
			t.Fatalf("revoked session: %v", err)
		}
		if _, err := c.Consumer.Authenticate(ctx, session.AuthenticateParams{SessionToken: phone.SessionToken}); err != nil {
			t.Fatalf("the other session: %v", err)
		}
	})

	t.Run("log a user out of all sessions", func(t *testing.T) {
		srv, hc := validatedServer(t)
		c := clientFor(t, srv, hc)
		u := srv.CreateUser(stytchtest.UserParams{Email: "a@example.com"})
		bystander := srv.CreateUser(stytchtest.UserParams{Email: "b@example.com"})
		var toks []stytchtest.Tokens
		for range 3 {
			tok, _ := srv.StartSession(u.UserID, stytchtest.SessionParams{})
			toks = append(toks, tok)
		}
		other, _ := srv.StartSession(bystander.UserID, stytchtest.SessionParams{})
		list, err := c.Consumer.List(ctx, u.UserID)
		if err != nil || len(list.Sessions) != 3 {
			t.Fatalf("list: %v", err)
		}
		for _, s := range list.Sessions {
			if err := c.Consumer.Revoke(ctx, session.RevokeParams{SessionID: s.SessionID}); err != nil {
				t.Fatal(err)
			}
		}
		for _, tok := range toks {
			if _, err := c.Consumer.Authenticate(ctx, session.AuthenticateParams{SessionJWT: tok.SessionJWT}); !errors.Is(err, session.ErrSessionGone) {
				t.Fatalf("session survived logout-everywhere: %v", err)
			}
		}
		if list, _ := c.Consumer.List(ctx, u.UserID); len(list.Sessions) != 0 {
			t.Fatalf("%d sessions listed after logout-everywhere", len(list.Sessions))
		}
		if _, err := c.Consumer.Authenticate(ctx, session.AuthenticateParams{SessionToken: other.SessionToken}); err != nil {
			t.Fatalf("another user's session: %v", err)
		}
	})

	t.Run("multiple authentication factors", func(t *testing.T) {
		srv, hc := validatedServer(t)
		c := clientFor(t, srv, hc)
		u := srv.CreateUser(stytchtest.UserParams{Email: "a@example.com", PhoneNumber: "+15555550100"})
		tok, _ := srv.StartSession(u.UserID, stytchtest.SessionParams{Duration: thirtyDays * time.Minute})
		if err := srv.AddTrustedAuthToken("profile-otp", "second-factor", u.UserID); err != nil {
			t.Fatal(err)
		}
		// Attest is an app's own call (stytch-go: Sessions.Attest), through
		// the validating client.
		body, _ := json.Marshal(map[string]string{"profile_id": "profile-otp", "token": "second-factor", "session_token": tok.SessionToken})
		req, _ := http.NewRequestWithContext(ctx, "POST", srv.URL+"/v1/sessions/attest", bytes.NewReader(body))
		req.SetBasicAuth(srv.ProjectID(), srv.Secret())
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var res struct {
			Session session.Session `json:"session"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || resp.StatusCode != 200 {
			t.Fatalf("attest: %d %v", resp.StatusCode, err)
		}
		if res.Session.SessionID != tok.SessionID {
			t.Fatalf("a new session %s instead of the existing one", res.Session.SessionID)
		}
		auth, err := c.Consumer.Authenticate(ctx, session.AuthenticateParams{SessionToken: tok.SessionToken})
		if err != nil {
			t.Fatal(err)
		}
		f := auth.Session.AuthenticationFactors
		if len(f) != 2 || f[0].Type != "magic_link" || f[0].EmailFactor.EmailAddress != "a@example.com" || f[1].Type != "trusted_auth_token" {
			t.Fatalf("factors %+v", f)
		}
	})
}
