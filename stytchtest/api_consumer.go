package stytchtest

import (
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/stytchguard/stytchguard/session"
)

// sessionArgs is the part of a request that names a session and may update
// it; pointer fields tell "absent" from zero.
type sessionArgs struct {
	SessionToken           string                      `json:"session_token"`
	SessionJWT             string                      `json:"session_jwt"`
	SessionDurationMinutes *int                        `json:"session_duration_minutes"`
	SessionCustomClaims    map[string]any              `json:"session_custom_claims"`
	AuthorizationCheck     *session.AuthorizationCheck `json:"authorization_check"`
}

// signUnlock mints a fresh JWT for s: its claims are read under e.mu, held on
// entry and released before the (slow) RSA signature.
func (e *Emulator) signUnlock(s *sess) (string, *session.APIError) {
	claims, key := e.jwtClaims(s)
	e.mu.Unlock()
	out, err := sign(claims, key)
	if err != nil {
		return "", apiError(http.StatusInternalServerError, "internal_server_error", "Signing failed.")
	}
	return out, nil
}

// authenticateLocked decodes an authenticate request and runs its checks and
// updates (touch). On success it returns with e.mu held, for the caller to
// build its answer and signUnlock; on failure e.mu is released.
func (e *Emulator) authenticateLocked(r *http.Request, b2b bool) (sessionArgs, *sess, *session.Verdict, *session.APIError) {
	var a sessionArgs
	if err := decode(r, &a); err != nil {
		return a, nil, nil, err
	}
	e.mu.Lock()
	s, apiErr := e.findSession(a.SessionToken, a.SessionJWT, b2b)
	if apiErr != nil {
		e.mu.Unlock()
		return a, nil, nil, apiErr
	}
	verdict, apiErr := e.touch(s, a)
	if apiErr != nil {
		e.mu.Unlock()
		return a, nil, nil, apiErr
	}
	return a, s, verdict, nil
}

// findSession resolves exactly one of token and jwt to a live session of the
// right product line. The caller holds e.mu.
func (e *Emulator) findSession(token, jwtStr string, b2b bool) (*sess, *session.APIError) {
	switch {
	case token != "" && jwtStr != "":
		return nil, apiError(http.StatusBadRequest, "too_many_session_arguments", "Pass either session_token or session_jwt, not both.")
	case token == "" && jwtStr == "":
		return nil, apiError(http.StatusBadRequest, "no_session_arguments", "Pass session_token or session_jwt.")
	}
	var s *sess
	if token != "" {
		s = e.sessions[e.tokens[token]]
	} else {
		var apiErr *session.APIError
		if s, apiErr = e.sessionFromJWT(jwtStr, b2b); apiErr != nil {
			return nil, apiErr
		}
	}
	if s == nil || s.b2b != b2b || !s.alive(e.now()) {
		return nil, errSessionNotFound()
	}
	return s, nil
}

// duration validates an optional session_duration_minutes.
func duration(minutes *int) (time.Duration, *session.APIError) {
	if minutes == nil {
		return 0, nil
	}
	if *minutes < MinSessionDurationMinutes || *minutes > MaxSessionDurationMinutes {
		return 0, apiError(http.StatusBadRequest, "invalid_session_duration_minutes",
			fmt.Sprintf("session_duration_minutes must be between %d and %d.", MinSessionDurationMinutes, MaxSessionDurationMinutes))
	}
	return time.Duration(*minutes) * time.Minute, nil
}

// touch authenticates s as authenticate does: validates the duration and the
// claims update, answers the authorization check, and only then extends the
// session, merges the claims and moves last_accessed_at. The caller holds
// e.mu.
func (e *Emulator) touch(s *sess, a sessionArgs) (*session.Verdict, *session.APIError) {
	d, apiErr := duration(a.SessionDurationMinutes)
	if apiErr != nil {
		return nil, apiErr
	}
	claims, apiErr := mergeClaims(s.claims, a.SessionCustomClaims)
	if apiErr != nil {
		return nil, apiErr
	}
	verdict, apiErr := e.authorize(s, a.AuthorizationCheck)
	if apiErr != nil {
		return nil, apiErr
	}
	now := e.now()
	s.lastAccessed = now
	if d > 0 {
		s.expires = now.Add(d)
	}
	if a.SessionCustomClaims != nil {
		s.claims = claims
	}
	return verdict, nil
}

func (e *Emulator) handleAuthenticate(r *http.Request, reqID string) (any, *session.APIError) {
	a, s, verdict, apiErr := e.authenticateLocked(r, false)
	if apiErr != nil {
		return nil, apiErr
	}
	out := &session.AuthenticateResponse{
		RequestID:  reqID,
		StatusCode: http.StatusOK,
		Session:    e.consumerSession(s),
		User:       e.userModel(e.users[s.subject]),
		Verdict:    verdict,
	}
	if a.SessionToken != "" {
		out.SessionToken = s.token
	}
	out.SessionJWT, apiErr = e.signUnlock(s)
	return out, apiErr
}

func (e *Emulator) handleList(r *http.Request, reqID string) (any, *session.APIError) {
	userID := r.URL.Query().Get("user_id")
	if userID == "" {
		return nil, apiError(http.StatusBadRequest, "bad_request", "user_id is required.")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.users[userID]; !ok {
		return nil, apiError(http.StatusNotFound, "user_not_found", "User could not be found.")
	}
	out := &session.ListResponse{RequestID: reqID, StatusCode: http.StatusOK, Sessions: []session.Session{}}
	for _, s := range e.liveSessionsOf(userID, false) {
		out.Sessions = append(out.Sessions, e.consumerSession(s))
	}
	return out, nil
}

// liveSessionsOf returns a subject's live sessions, oldest first. The caller
// holds e.mu.
func (e *Emulator) liveSessionsOf(subject string, b2b bool) []*sess {
	now := e.now()
	var out []*sess
	for _, s := range e.sessions {
		if s.subject == subject && s.b2b == b2b && s.alive(now) {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b *sess) int {
		if c := a.started.Compare(b.started); c != 0 {
			return c
		}
		if a.id < b.id {
			return -1
		}
		return 1
	})
	return out
}

// countSet returns how many of vs are non-empty.
func countSet(vs ...string) int {
	n := 0
	for _, v := range vs {
		if v != "" {
			n++
		}
	}
	return n
}

func errRevokeArgs(n int) *session.APIError {
	if n == 0 {
		return apiError(http.StatusBadRequest, "no_session_revoke_arguments", "Pass one identifier of the session to revoke.")
	}
	return apiError(http.StatusBadRequest, "too_many_session_revoke_arguments", "Pass only one identifier of the session to revoke.")
}

func (e *Emulator) handleRevoke(r *http.Request, reqID string) (any, *session.APIError) {
	var p session.RevokeParams
	if err := decode(r, &p); err != nil {
		return nil, err
	}
	if n := countSet(p.SessionID, p.SessionToken, p.SessionJWT); n != 1 {
		return nil, errRevokeArgs(n)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var s *sess
	if p.SessionID != "" {
		if s = e.sessions[p.SessionID]; s == nil || s.b2b || !s.alive(e.now()) {
			return nil, errSessionNotFound()
		}
	} else {
		var apiErr *session.APIError
		if s, apiErr = e.findSession(p.SessionToken, p.SessionJWT, false); apiErr != nil {
			return nil, apiErr
		}
	}
	s.revoked = true
	return &revokeResponse{RequestID: reqID, StatusCode: http.StatusOK}, nil
}

func (e *Emulator) handleJWKS(r *http.Request, reqID string) (any, *session.APIError) {
	if r.PathValue("project_id") != e.projectID {
		return nil, apiError(http.StatusNotFound, "project_not_found", "Project could not be found.")
	}
	return &jwksResponse{Keys: e.JWKS(), RequestID: reqID, StatusCode: http.StatusOK}, nil
}

func (e *Emulator) handlePolicy(_ *http.Request, reqID string) (any, *session.APIError) {
	e.mu.Lock()
	defer e.mu.Unlock()
	p := clonePolicy(e.policy)
	return &policyResponse{RequestID: reqID, StatusCode: http.StatusOK, Policy: &p}, nil
}

// grantArgs is the part of exchange_access_token, migrate and attest requests
// that shapes the session they start.
type grantArgs struct {
	SessionDurationMinutes *int           `json:"session_duration_minutes"`
	SessionCustomClaims    map[string]any `json:"session_custom_claims"`
}

// startGranted starts a session for subject from a grant (access token,
// migration, attestation). The caller holds e.mu.
func (e *Emulator) startGranted(b2b bool, subject, orgID string, g grantArgs, f session.AuthenticationFactor) (*sess, *session.APIError) {
	d, apiErr := duration(g.SessionDurationMinutes)
	if apiErr != nil {
		return nil, apiErr
	}
	if _, apiErr := mergeClaims(nil, g.SessionCustomClaims); apiErr != nil {
		return nil, apiErr
	}
	s, err := e.newSession(b2b, subject, orgID, SessionParams{Duration: d, Factors: []session.AuthenticationFactor{f}, CustomClaims: g.SessionCustomClaims})
	if err != nil {
		return nil, apiError(http.StatusBadRequest, "bad_request", err.Error())
	}
	return s, nil
}

// consumerGrantResponse answers exchange_access_token, migrate and attest
// for s, releasing e.mu (held on entry) before signing.
func (e *Emulator) consumerGrantResponse(s *sess, reqID string) (any, *session.APIError) {
	ss := e.consumerSession(s)
	out := &sessionResponse{
		RequestID:    reqID,
		UserID:       s.subject,
		SessionToken: s.token,
		User:         e.userModel(e.users[s.subject]),
		StatusCode:   http.StatusOK,
		Session:      &ss,
	}
	var apiErr *session.APIError
	out.SessionJWT, apiErr = e.signUnlock(s)
	return out, apiErr
}

func errInvalidGrant(what string) *session.APIError {
	return apiError(http.StatusNotFound, "invalid_token", "The "+what+" could not be found or has expired.")
}

func (e *Emulator) handleExchangeAccessToken(r *http.Request, reqID string) (any, *session.APIError) {
	var p struct {
		AccessToken string `json:"access_token"`
		grantArgs
	}
	if err := decode(r, &p); err != nil {
		return nil, err
	}
	e.mu.Lock()
	ref, ok := e.accessGrant(p.AccessToken)
	if !ok || e.users[ref.id] == nil {
		e.mu.Unlock()
		return nil, errInvalidGrant("access token")
	}
	f := session.AuthenticationFactor{
		Type:                           "oauth",
		DeliveryMethod:                 "oauth_access_token_exchange",
		OAuthAccessTokenExchangeFactor: &session.OAuthAccessTokenExchangeFactor{ClientID: ref.clientID},
	}
	s, apiErr := e.startGranted(false, ref.id, "", p.grantArgs, f)
	if apiErr != nil {
		e.mu.Unlock()
		return nil, apiErr
	}
	return e.consumerGrantResponse(s, reqID)
}

func (e *Emulator) handleMigrate(r *http.Request, reqID string) (any, *session.APIError) {
	var p struct {
		SessionToken string `json:"session_token"`
		grantArgs
	}
	if err := decode(r, &p); err != nil {
		return nil, err
	}
	e.mu.Lock()
	ref, ok := e.migrations[p.SessionToken]
	if !ok || e.users[ref.id] == nil {
		e.mu.Unlock()
		return nil, errInvalidGrant("external session token")
	}
	f := session.AuthenticationFactor{Type: "imported", DeliveryMethod: "imported_auth0"}
	s, apiErr := e.startGranted(false, ref.id, "", p.grantArgs, f)
	if apiErr != nil {
		e.mu.Unlock()
		return nil, apiErr
	}
	return e.consumerGrantResponse(s, reqID)
}

// attestArgs is the body of the attest endpoints.
type attestArgs struct {
	ProfileID      string `json:"profile_id"`
	Token          string `json:"token"`
	OrganizationID string `json:"organization_id"`
	SessionToken   string `json:"session_token"`
	SessionJWT     string `json:"session_jwt"`
	grantArgs
}

// attest starts a session from a trusted auth token, or adds it as a factor
// to the session the request names. The caller holds e.mu, and still does on
// return.
func (e *Emulator) attest(a attestArgs, b2b bool) (*sess, *session.APIError) {
	ref, ok := e.trusted[a.ProfileID+"\x00"+a.Token]
	if !ok {
		return nil, errInvalidGrant("trusted auth token")
	}
	f := session.AuthenticationFactor{
		Type:                   "trusted_auth_token",
		DeliveryMethod:         "trusted_token_exchange",
		TrustedAuthTokenFactor: &session.TrustedAuthTokenFactor{TokenID: e.id("trusted-auth-token")},
	}
	orgID := ""
	if b2b {
		m := e.members[ref.id]
		if m == nil || (a.OrganizationID != "" && a.OrganizationID != m.orgID) {
			return nil, apiError(http.StatusNotFound, "member_not_found", "Member could not be found.")
		}
		orgID = m.orgID
	} else if e.users[ref.id] == nil {
		return nil, errInvalidGrant("trusted auth token")
	}
	if a.SessionToken == "" && a.SessionJWT == "" {
		return e.startGranted(b2b, ref.id, orgID, a.grantArgs, f)
	}
	s, apiErr := e.findSession(a.SessionToken, a.SessionJWT, b2b)
	if apiErr != nil {
		return nil, apiErr
	}
	if s.subject != ref.id {
		return nil, apiError(http.StatusBadRequest, "session_subject_mismatch", "The token belongs to another user than the session.")
	}
	if _, apiErr := e.touch(s, sessionArgs{SessionDurationMinutes: a.SessionDurationMinutes, SessionCustomClaims: a.SessionCustomClaims}); apiErr != nil {
		return nil, apiErr
	}
	s.factors = append(s.factors, stampFactors([]session.AuthenticationFactor{f}, e.now())...)
	return s, nil
}

func (e *Emulator) handleAttest(r *http.Request, reqID string) (any, *session.APIError) {
	var a attestArgs
	if err := decode(r, &a); err != nil {
		return nil, err
	}
	e.mu.Lock()
	s, apiErr := e.attest(a, false)
	if apiErr != nil {
		e.mu.Unlock()
		return nil, apiErr
	}
	return e.consumerGrantResponse(s, reqID)
}

// IssueAccessToken returns a Connected Apps access token for a user or member
// that exchange_access_token accepts, issued to clientID.
func (e *Emulator) IssueAccessToken(subjectID, clientID string) (string, error) {
	tok := randomToken(32)
	return tok, e.addGrant(e.accessToks, tok, subjectRef{id: subjectID, clientID: clientID})
}

// AddMigrationToken registers an external provider's session token that
// migrate trades for a session of the user or member subjectID.
func (e *Emulator) AddMigrationToken(externalToken, subjectID string) error {
	return e.addGrant(e.migrations, externalToken, subjectRef{id: subjectID})
}

// AddTrustedAuthToken registers a token that attest, with profileID, trades
// for a session of the user or member subjectID.
func (e *Emulator) AddTrustedAuthToken(profileID, token, subjectID string) error {
	return e.addGrant(e.trusted, profileID+"\x00"+token, subjectRef{id: subjectID})
}

func (e *Emulator) addGrant(m map[string]subjectRef, key string, ref subjectRef) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.users[ref.id] == nil && e.members[ref.id] == nil {
		return fmt.Errorf("user or member %s: %w", ref.id, ErrNotFound)
	}
	m[key] = ref
	return nil
}

// sessionResponse is the answer of the endpoints that start or extend a
// consumer session from another credential: exchange_access_token, migrate
// and attest.
type sessionResponse struct {
	RequestID    string              `json:"request_id"`
	UserID       string              `json:"user_id"`
	SessionToken string              `json:"session_token"`
	SessionJWT   string              `json:"session_jwt"`
	User         session.User        `json:"user"`
	StatusCode   int                 `json:"status_code"`
	Session      *session.Session    `json:"session,omitempty"`
	UserDevice   *session.DeviceInfo `json:"user_device"` // null unless device fingerprinting is on
}
