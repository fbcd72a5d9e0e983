package middleware

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/session"
)

// SessionsHandler answers GET with the caller's own active sessions as JSON:
// {"sessions": [...]} for consumer, {"member_sessions": [...]} for B2B. It
// requires a valid session.
func (m *Middleware) SessionsHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, a, ok := m.authenticated(w, r)
		if !ok {
			return
		}
		_, body, err := m.line.list(r.Context(), a)
		if err != nil {
			m.refuse(w, r, m.upstreamError(r.Context(), err))
			return
		}
		writeJSON(w, http.StatusOK, body)
	})
}

// exchangeResult is the JSON answer of ExchangeHandler.
type exchangeResult struct {
	MemberAuthenticated bool   `json:"member_authenticated"`
	OrganizationID      string `json:"organization_id"`
	MemberID            string `json:"member_id"`
	MemberSessionID     string `json:"member_session_id,omitempty"`
	// SessionToken and SessionJWT are given in the body only to callers
	// that authenticated with a header; cookie callers get new cookies.
	SessionToken string `json:"session_token,omitempty"`
	SessionJWT   string `json:"session_jwt,omitempty"`
	// MFARequired: the organization requires MFA, and no session is
	// started until the member completes it.
	MFARequired bool `json:"mfa_required"`
	// IntermediateSessionToken is the token for that MFA step, given in
	// the body only to callers that authenticated with a header; cookie
	// callers get it in the intermediate cookie, where no script reads it
	// when HTTPOnlyCookies is set.
	IntermediateSessionToken string `json:"intermediate_session_token,omitempty"`
}

// ExchangeHandler (B2B) exchanges the caller's member session for one in
// another organization the member belongs to, named by the form or query
// value organization_id. On success it sets the new session's cookies (for
// cookie callers) and answers exchangeResult; when that organization
// requires MFA it answers the intermediate session token and sets no session
// cookie. POST only, same-origin only.
func (m *Middleware) ExchangeHandler() http.Handler {
	return m.protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !m.b2b {
			m.refuse(w, r, badRequest("session exchange is a B2B feature"))
			return
		}
		orgID := r.FormValue("organization_id")
		if orgID == "" {
			m.refuse(w, r, badRequest("organization_id is required"))
			return
		}
		cred, _, ok := m.authenticated(w, r)
		if !ok {
			return
		}
		p := session.B2BExchangeParams{OrganizationID: orgID, SessionToken: cred.Token, SessionDurationMinutes: m.cfg.Sessions.DurationMinutes}
		if p.SessionToken == "" {
			p.SessionJWT = cred.JWT
		}
		res, err := m.cfg.Client.B2B.Exchange(r.Context(), p)
		if err == nil && res.MemberSession != nil && !m.live(res.MemberSession.ExpiresAt.Time) {
			err = invalidAnswer("POST b2b/sessions/exchange", "the session's expires_at has passed")
		}
		if err != nil {
			// Stytch's word that the member cannot enter: no such member or
			// organization, or refused. Any other refusal (a base URL with a
			// path meets route_not_found) is about the request: a 503.
			var api *session.APIError
			notMember := errors.As(err, &api) && (api.ErrorType == "member_not_found" || api.ErrorType == "organization_not_found" ||
				api.StatusCode == http.StatusForbidden)
			if notMember {
				m.refuse(w, r, &stytchguard.Refusal{Status: http.StatusForbidden, Code: stytchguard.CodeForbidden, Message: "the member cannot enter that organization", Err: err})
				return
			}
			m.refuse(w, r, m.upstreamError(r.Context(), err))
			return
		}
		out := exchangeResult{
			MemberAuthenticated: res.MemberAuthenticated,
			OrganizationID:      res.Organization.OrganizationID,
			MemberID:            res.MemberID,
			MFARequired:         res.IntermediateSessionToken != "",
		}
		if cred.From != fromCookie {
			out.IntermediateSessionToken = res.IntermediateSessionToken
		}
		switch {
		case res.MemberAuthenticated && res.MemberSession != nil:
			out.MemberSessionID = res.MemberSession.MemberSessionID
			if cred.From == fromCookie {
				m.SetSessionCookies(w, SignedIn{SessionToken: res.SessionToken, SessionJWT: res.SessionJWT, ExpiresAt: res.MemberSession.ExpiresAt.Time})
			} else {
				out.SessionToken, out.SessionJWT = res.SessionToken, res.SessionJWT
			}
		case res.IntermediateSessionToken != "" && cred.From == fromCookie:
			// MFA pending: keep the token where Stytch's frontend SDK
			// looks for it, for the MFA step, until it expires.
			exp := res.IntermediateSessionTokenExpiresAt.Time
			if exp.IsZero() {
				exp = m.cfg.Now().Add(10 * time.Minute)
			}
			m.setCookie(w, m.cfg.Cookies.Intermediate, res.IntermediateSessionToken, exp)
		}
		writeJSON(w, http.StatusOK, out)
	}))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
