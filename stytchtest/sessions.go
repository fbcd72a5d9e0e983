package stytchtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard/session"
)

// Session lifetimes and limits, as Stytch's.
const (
	// DefaultSessionDuration is the lifetime of a session started without one.
	DefaultSessionDuration = 60 * time.Minute
	// JWTLifetime is how long every session JWT is valid: exp = iat + 300 s.
	JWTLifetime = 5 * time.Minute
	// IntermediateSessionLifetime is how long an intermediate session token
	// (the MFA step after a B2B exchange) is good for.
	IntermediateSessionLifetime = 10 * time.Minute
	// MinSessionDurationMinutes and MaxSessionDurationMinutes bound
	// session_duration_minutes.
	MinSessionDurationMinutes = 5
	MaxSessionDurationMinutes = 527040
	// MaxCustomClaimsBytes bounds a session's custom claims, JSON-encoded.
	MaxCustomClaimsBytes = 4096
)

// JWT claim names Stytch uses for its own data.
const (
	ClaimSession      = "https://stytch.com/session"
	ClaimOrganization = "https://stytch.com/organization"
)

type sess struct {
	id           string
	b2b          bool
	subject      string // user id, or member id
	orgID        string
	token        string
	started      time.Time
	lastAccessed time.Time
	expires      time.Time
	factors      []session.AuthenticationFactor
	extraRoles   []string
	claims       map[string]any
	attributes   session.Attributes
	revoked      bool
}

func (s *sess) alive(now time.Time) bool { return !s.revoked && now.Before(s.expires) }

// SessionParams describes a session to start.
type SessionParams struct {
	// Duration is the session's lifetime. Zero means DefaultSessionDuration.
	Duration time.Duration
	// Factors are the authentication factors the session was started with.
	// Empty means one email magic link factor (consumer: an SMS OTP factor
	// for users with a phone number only).
	Factors []session.AuthenticationFactor
	// Roles are extra roles this session carries beyond those of its user or
	// member.
	Roles []string
	// CustomClaims are the session's custom claims, as authenticate's
	// session_custom_claims would set them.
	CustomClaims map[string]any
	// Attributes are the consumer session's ip_address and user_agent.
	Attributes session.Attributes
}

// Tokens are the credentials of a started session.
type Tokens struct {
	// SessionID is the session id (B2B: the member_session_id).
	SessionID string
	// SessionToken is the opaque, long-lived session token.
	SessionToken string
	// SessionJWT is a JWT for the session, valid for JWTLifetime.
	SessionJWT string
	// ExpiresAt is when the session ends unless extended.
	ExpiresAt time.Time
}

// StartSession starts a consumer session for a user, as a successful login
// would.
func (e *Emulator) StartSession(userID string, p SessionParams) (Tokens, error) {
	e.mu.Lock()
	u, ok := e.users[userID]
	if !ok {
		e.mu.Unlock()
		return Tokens{}, fmt.Errorf("user %s: %w", userID, ErrNotFound)
	}
	if len(p.Factors) == 0 {
		p.Factors = []session.AuthenticationFactor{e.defaultUserFactor(u)}
	}
	s, err := e.newSession(false, userID, "", p)
	if err != nil {
		e.mu.Unlock()
		return Tokens{}, err
	}
	return e.tokensUnlock(s)
}

// StartMemberSession starts a B2B member session, as a successful login to
// the member's organization would.
func (e *Emulator) StartMemberSession(memberID string, p SessionParams) (Tokens, error) {
	e.mu.Lock()
	m, ok := e.members[memberID]
	if !ok {
		e.mu.Unlock()
		return Tokens{}, fmt.Errorf("member %s: %w", memberID, ErrNotFound)
	}
	if len(p.Factors) == 0 {
		p.Factors = []session.AuthenticationFactor{e.emailFactor(m.emailID, m.email)}
	}
	s, err := e.newSession(true, memberID, m.orgID, p)
	if err != nil {
		e.mu.Unlock()
		return Tokens{}, err
	}
	return e.tokensUnlock(s)
}

// tokensUnlock mints s's JWT, releasing e.mu (held on entry) before signing.
func (e *Emulator) tokensUnlock(s *sess) (Tokens, error) {
	t := Tokens{SessionID: s.id, SessionToken: s.token, ExpiresAt: s.expires}
	jwtStr, apiErr := e.signUnlock(s)
	if apiErr != nil {
		return Tokens{}, errors.New("stytchtest: " + apiErr.ErrorMessage)
	}
	t.SessionJWT = jwtStr
	return t, nil
}

// AddFactor adds an authentication factor to a live session, as completing a
// second factor with the session's token does.
func (e *Emulator) AddFactor(sessionID string, f session.AuthenticationFactor) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.sessions[sessionID]
	if !ok || !s.alive(e.now()) {
		return fmt.Errorf("session %s: %w", sessionID, ErrNotFound)
	}
	s.factors = append(s.factors, f)
	return nil
}

// RevokeSession revokes a session, as a revoke call from another process
// (another app instance, the dashboard) would.
func (e *Emulator) RevokeSession(sessionID string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.sessions[sessionID]
	if !ok {
		return fmt.Errorf("session %s: %w", sessionID, ErrNotFound)
	}
	s.revoked = true
	return nil
}

// SessionAlive reports whether the session exists, is not revoked and has not
// expired by the emulator's clock.
func (e *Emulator) SessionAlive(sessionID string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.sessions[sessionID]
	return ok && s.alive(e.now())
}

// newSession stores a new session. The caller holds e.mu.
func (e *Emulator) newSession(b2b bool, subject, orgID string, p SessionParams) (*sess, error) {
	d := p.Duration
	if d == 0 {
		d = DefaultSessionDuration
	}
	if d < MinSessionDurationMinutes*time.Minute || d > MaxSessionDurationMinutes*time.Minute {
		return nil, fmt.Errorf("stytchtest: session duration %v outside %d..%d minutes", d, MinSessionDurationMinutes, MaxSessionDurationMinutes)
	}
	claims, apiErr := mergeClaims(nil, p.CustomClaims)
	if apiErr != nil {
		return nil, fmt.Errorf("stytchtest: %s", apiErr.ErrorMessage)
	}
	now := e.now()
	s := &sess{
		b2b:          b2b,
		subject:      subject,
		orgID:        orgID,
		token:        newSessionToken(),
		started:      now,
		lastAccessed: now,
		expires:      now.Add(d),
		factors:      stampFactors(p.Factors, now),
		extraRoles:   slices.Clone(p.Roles),
		claims:       claims,
		attributes:   p.Attributes,
	}
	s.id = e.id("session")
	e.sessions[s.id] = s
	e.tokens[s.token] = s.id
	return s, nil
}

// stampFactors copies fs, filling in unset timestamps with now.
func stampFactors(fs []session.AuthenticationFactor, now time.Time) []session.AuthenticationFactor {
	out := slices.Clone(fs)
	t := session.NewTime(now)
	for i := range out {
		if out[i].CreatedAt.IsZero() {
			out[i].CreatedAt = t
		}
		if out[i].UpdatedAt.IsZero() {
			out[i].UpdatedAt = t
		}
		if out[i].LastAuthenticatedAt.IsZero() {
			out[i].LastAuthenticatedAt = t
		}
	}
	return out
}

func (e *Emulator) emailFactor(emailID, address string) session.AuthenticationFactor {
	return session.AuthenticationFactor{
		Type:           "magic_link",
		DeliveryMethod: "email",
		EmailFactor:    &session.EmailFactor{EmailID: emailID, EmailAddress: address},
	}
}

func (e *Emulator) defaultUserFactor(u *user) session.AuthenticationFactor {
	if u.email == "" && u.phone != "" {
		return session.AuthenticationFactor{
			Type:              "otp",
			DeliveryMethod:    "sms",
			PhoneNumberFactor: &session.PhoneNumberFactor{PhoneID: u.phoneID, PhoneNumber: u.phone},
		}
	}
	return e.emailFactor(u.emailID, u.email)
}

// roles returns the roles s carries now. The caller holds e.mu.
func (e *Emulator) roles(s *sess) []string {
	var base []string
	if s.b2b {
		if m, ok := e.members[s.subject]; ok {
			base = m.allRoles()
		} else {
			base = []string{"stytch_member"}
		}
	} else {
		if u, ok := e.users[s.subject]; ok {
			base = u.allRoles()
		} else {
			base = []string{"stytch_user"}
		}
	}
	return appendUnique(base, s.extraRoles...)
}

func (e *Emulator) consumerSession(s *sess) session.Session {
	out := session.Session{
		SessionID:             s.id,
		UserID:                s.subject,
		AuthenticationFactors: slices.Clone(s.factors),
		Roles:                 e.roles(s),
		StartedAt:             session.NewTime(s.started),
		LastAccessedAt:        session.NewTime(s.lastAccessed),
		ExpiresAt:             session.NewTime(s.expires),
		Attributes:            &session.Attributes{IPAddress: s.attributes.IPAddress, UserAgent: s.attributes.UserAgent},
		CustomClaims:          maps.Clone(s.claims),
	}
	if out.CustomClaims == nil {
		out.CustomClaims = map[string]any{}
	}
	return out
}

func (e *Emulator) memberSession(s *sess) session.MemberSession {
	slug := ""
	if o, ok := e.orgs[s.orgID]; ok {
		slug = o.slug
	}
	out := session.MemberSession{
		MemberSessionID:       s.id,
		MemberID:              s.subject,
		StartedAt:             session.NewTime(s.started),
		LastAccessedAt:        session.NewTime(s.lastAccessed),
		ExpiresAt:             session.NewTime(s.expires),
		AuthenticationFactors: slices.Clone(s.factors),
		OrganizationID:        s.orgID,
		Roles:                 e.roles(s),
		OrganizationSlug:      slug,
		CustomClaims:          maps.Clone(s.claims),
	}
	if out.CustomClaims == nil {
		out.CustomClaims = map[string]any{}
	}
	return out
}

// jwtClaims builds the claims of a fresh JWT for s and picks the signing key.
// The caller holds e.mu; signing happens after it is released.
func (e *Emulator) jwtClaims(s *sess) (jwt.MapClaims, *signingKey) {
	now := e.now()
	claims := jwt.MapClaims{}
	for k, v := range s.claims {
		claims[k] = v
	}
	sessionClaim := map[string]any{
		"id":                     s.id,
		"started_at":             session.NewTime(s.started),
		"last_accessed_at":       session.NewTime(s.lastAccessed),
		"expires_at":             session.NewTime(s.expires),
		"authentication_factors": slices.Clone(s.factors),
		"roles":                  e.roles(s),
	}
	if !s.b2b {
		sessionClaim["attributes"] = session.Attributes{IPAddress: s.attributes.IPAddress, UserAgent: s.attributes.UserAgent}
	}
	claims[ClaimSession] = sessionClaim
	if s.b2b {
		slug := ""
		if o, ok := e.orgs[s.orgID]; ok {
			slug = o.slug
		}
		claims[ClaimOrganization] = map[string]any{"organization_id": s.orgID, "slug": slug}
	}
	claims["iss"] = e.issuer
	claims["aud"] = []string{e.projectID}
	claims["sub"] = s.subject
	claims["iat"] = now.Unix()
	claims["nbf"] = now.Unix()
	claims["exp"] = now.Add(JWTLifetime).Unix()
	claims["jti"] = newUUID() // unique per JWT, as Stytch's carry
	return claims, e.keys[len(e.keys)-1]
}

func sign(claims jwt.MapClaims, k *signingKey) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	t.Header["kid"] = k.kid
	out, err := t.SignedString(k.priv)
	if err != nil {
		return "", fmt.Errorf("stytchtest: signing JWT: %w", err)
	}
	return out, nil
}

// sessionFromJWT finds the session a JWT names, checking its signature
// against every key the project ever had (so that Stytch, unlike a local
// verifier, still accepts a JWT whose key has been retired) but not its
// expiry: an expired JWT of a live session is good for a fresh one. The
// caller holds e.mu.
func (e *Emulator) sessionFromJWT(raw string, b2b bool) (*sess, *session.APIError) {
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithoutClaimsValidation())
	claims := jwt.MapClaims{}
	_, err := parser.ParseWithClaims(raw, claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		k := e.keyByID(kid)
		if k == nil {
			return nil, errors.New("unknown kid")
		}
		return &k.priv.PublicKey, nil
	})
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return nil, apiError(400, "unable_to_parse_session_jwt", "The session JWT could not be parsed.")
	case err != nil:
		return nil, errSessionNotFound()
	}
	if iss, _ := claims.GetIssuer(); iss != e.issuer {
		return nil, errSessionNotFound()
	}
	if aud, _ := claims.GetAudience(); !slices.Contains(aud, e.projectID) {
		return nil, errSessionNotFound()
	}
	sc, _ := claims[ClaimSession].(map[string]any)
	id, _ := sc["id"].(string)
	s, ok := e.sessions[id]
	if !ok || s.b2b != b2b {
		return nil, errSessionNotFound()
	}
	if sub, _ := claims.GetSubject(); sub != s.subject {
		return nil, errSessionNotFound()
	}
	return s, nil
}

// reservedClaim reports whether a custom claim name is Stytch's.
func reservedClaim(name string) bool {
	switch name {
	case "iss", "sub", "aud", "exp", "nbf", "iat", "jti":
		return true
	}
	return strings.HasPrefix(name, "https://stytch.com/")
}

// mergeClaims applies an update to a session's custom claims: keys merge, a
// null value deletes. It refuses reserved names and a result over
// MaxCustomClaimsBytes.
func mergeClaims(current, update map[string]any) (map[string]any, *session.APIError) {
	for k := range update {
		if reservedClaim(k) {
			return nil, apiError(400, "reserved_claims_in_custom_claims", "Custom claims may not use a reserved claim name.")
		}
	}
	out := maps.Clone(current)
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range update {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return nil, apiError(400, "bad_request", "Custom claims must be JSON.")
	}
	if len(b) > MaxCustomClaimsBytes {
		return nil, apiError(400, "custom_claims_too_large", "Custom claims may not exceed 4 kilobytes.")
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}
