package demo

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/session"
)

// The MFA step of an organization switch (B2B). The middleware's
// ExchangeHandler answers an organization that requires MFA with no session
// and keeps Stytch's intermediate session token in its cookie; these pages
// text the member a code (Stytch's SMS OTP) and trade the code and that
// token for the session.

// intermediate is the intermediate session token ExchangeHandler kept.
func intermediate(r *http.Request) string {
	c, err := r.Cookie("stytch_intermediate_session_token")
	if err != nil {
		return ""
	}
	return c.Value
}

// mfaView is the MFA page of the intermediate session the request holds,
// and reports whether it holds one. Against the emulator, the member and
// the organization are the intermediate session's, as the emulator knows
// it, never the request's say: the page shows the code texted to that
// member, and nobody else's. Against a real project they come from the
// query (the exchange's answer), and Stytch refuses to send or check a code
// for a member the intermediate session token is not for.
func (s *Site) mfaView(r *http.Request) (view, bool) {
	v := s.view(r, "mfa", "A code is needed")
	ist := intermediate(r)
	orgID, memberID := r.FormValue("organization_id"), r.FormValue("member_id")
	if s.be.Emulator != nil {
		var ok bool
		if memberID, orgID, ok = s.be.Emulator.IntermediateSession(ist); !ok {
			ist = ""
		}
	}
	m := &mfaView{OrganizationID: orgID, MemberID: memberID, Organization: "This organization", Phone: "your phone"}
	if o, ok := s.be.Org(orgID); ok {
		m.Organization = o.Name
	}
	if s.be.Emulator != nil {
		m.Phone = "•••• " + DemoPhone[len(DemoPhone)-4:]
	}
	v.MFA = m
	return v, ist != ""
}

// MFAPage serves GET /mfa: the MFA step, before and after the code is sent.
func (s *Site) MFAPage(w http.ResponseWriter, r *http.Request) {
	v, ok := s.mfaView(r)
	if !ok {
		s.refuse(w, r, http.StatusUnauthorized, "mfa_expired", "")
		return
	}
	if r.URL.Query().Get("sent") != "" {
		v.MFA.Sent = true
		if s.be.Emulator != nil {
			v.MFA.DemoCode, _ = s.be.Emulator.SMSCode(v.MFA.MemberID)
		}
	}
	s.render(w, http.StatusOK, v)
}

// SendCode serves POST /mfa/send: Stytch texts the member a code.
func (s *Site) SendCode(w http.ResponseWriter, r *http.Request) {
	v, ok := s.mfaView(r)
	ist := intermediate(r)
	if !ok {
		s.refuse(w, r, http.StatusUnauthorized, "mfa_expired", "")
		return
	}
	err := s.be.Client.B2B.SendSMSOTP(r.Context(), session.SMSOTPSendParams{OrganizationID: v.MFA.OrganizationID, MemberID: v.MFA.MemberID, IntermediateSessionToken: ist})
	if err != nil {
		s.mfaFailed(w, r, v, err)
		return
	}
	q := url.Values{"organization_id": {v.MFA.OrganizationID}, "member_id": {v.MFA.MemberID}, "sent": {"1"}}
	http.Redirect(w, r, "/mfa?"+q.Encode(), http.StatusSeeOther)
}

// CheckCode serves POST /mfa: the code and the intermediate session token
// become a session in the organization, handed to the browser by signIn
// (the middleware's SetSessionCookies, which also clears the intermediate
// cookie).
func (s *Site) CheckCode(signIn func(http.ResponseWriter, middleware.SignedIn)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, ok := s.mfaView(r)
		ist := intermediate(r)
		if !ok {
			s.refuse(w, r, http.StatusUnauthorized, "mfa_expired", "")
			return
		}
		res, err := s.be.Client.B2B.AuthenticateSMSOTP(r.Context(), session.SMSOTPAuthenticateParams{
			OrganizationID: v.MFA.OrganizationID, MemberID: v.MFA.MemberID, Code: r.FormValue("code"), IntermediateSessionToken: ist,
		})
		if err != nil {
			v.MFA.Sent = true
			s.mfaFailed(w, r, v, err)
			return
		}
		signIn(w, middleware.SignedIn{SessionToken: res.SessionToken, SessionJWT: res.SessionJWT, ExpiresAt: res.MemberSession.ExpiresAt.Time})
		http.Redirect(w, r, "/orgs/"+url.PathEscape(res.MemberSession.OrganizationID)+"/?switched=1", http.StatusSeeOther)
	}
}

// mfaFailed shows the MFA page again with what went wrong.
func (s *Site) mfaFailed(w http.ResponseWriter, r *http.Request, v view, err error) {
	status := http.StatusBadRequest
	var api *session.APIError
	switch {
	case errors.As(err, &api) && api.ErrorType == "otp_code_not_found":
		status, v.Alert = http.StatusUnauthorized, "That code is not right, or it has expired. Check the latest text, or send a new code."
	case errors.As(err, &api) && api.ErrorType == "intermediate_session_not_found":
		status, v.Alert = http.StatusUnauthorized, "This switch has expired. Go back and switch organization again."
	case errors.Is(err, session.ErrUnavailable):
		status, v.Alert = http.StatusServiceUnavailable, "Stytch cannot be reached right now. Try again in a few seconds."
	default:
		v.Alert = "The code could not be checked. Go back and switch organization again."
	}
	if s.be.Emulator != nil && v.MFA.Sent {
		v.MFA.DemoCode, _ = s.be.Emulator.SMSCode(v.MFA.MemberID)
	}
	s.render(w, status, v)
}
