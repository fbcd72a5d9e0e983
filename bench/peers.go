package bench

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	jwtmiddleware "github.com/auth0/go-jwt-middleware/v2"
	"github.com/auth0/go-jwt-middleware/v2/jwks"
	"github.com/auth0/go-jwt-middleware/v2/validator"
	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard/session"
)

// Project is what the peers need to know of a Stytch project.
type Project struct {
	ID      string
	JWKSURL string
	BaseURL string
}

// Issuer is the iss claim of the project's session JWTs.
func (p Project) Issuer() string { return "stytch.com/" + p.ID }

// sessionClaim is Stytch's https://stytch.com/session claim, as the peers
// decode it.
type sessionClaim struct {
	ID                    string                         `json:"id"`
	StartedAt             string                         `json:"started_at"`
	LastAccessedAt        string                         `json:"last_accessed_at"`
	ExpiresAt             string                         `json:"expires_at"`
	Attributes            session.Attributes             `json:"attributes"`
	AuthenticationFactors []session.AuthenticationFactor `json:"authentication_factors"`
	Roles                 []string                       `json:"roles"`
}

// Session is what every implementation puts in the request's context.
type Session struct {
	SessionID string
	UserID    string
	Roles     []string
	ExpiresAt time.Time
}

type ctxKey struct{}

// FromContext returns the session a peer middleware put in the context.
func FromContext(ctx context.Context) (*Session, bool) {
	s, ok := ctx.Value(ctxKey{}).(*Session)
	return s, ok
}

// toSession maps the claims to a session the way stytch-go's
// marshalJWTIntoSession does: timestamps parsed, the inner expires_at
// preferred.
func toSession(sub string, sc sessionClaim, exp time.Time) (*Session, error) {
	expires := exp
	if sc.ExpiresAt != "" {
		t, err := time.Parse(time.RFC3339, sc.ExpiresAt)
		if err != nil {
			return nil, err
		}
		expires = t
	}
	for _, ts := range []string{sc.StartedAt, sc.LastAccessedAt} {
		if _, err := time.Parse(time.RFC3339, ts); err != nil {
			return nil, err
		}
	}
	return &Session{SessionID: sc.ID, UserID: sub, Roles: sc.Roles, ExpiresAt: expires}, nil
}

// cookie returns the session JWT cookie's value.
func cookie(r *http.Request) string {
	c, err := r.Cookie("stytch_session_jwt")
	if err != nil {
		return ""
	}
	return c.Value
}

// --- The hand-rolled path: golang-jwt v5 + keyfunc, every request. ---

type handClaims struct {
	jwt.RegisteredClaims
	Session sessionClaim `json:"https://stytch.com/session"`
}

// HandRolled is what a Go user writes today, and the path stytch-go's
// AuthenticateJWTLocal takes: keyfunc's default storage (hourly refresh,
// unknown kids refreshed at most every 5 minutes), then, on every request,
// golang-jwt's ParseWithClaims with issuer and audience, a max-age check on
// iat, and the claims mapped to a session.
func HandRolled(ctx context.Context, p Project, maxAge time.Duration, next http.Handler) (http.Handler, error) {
	kf, err := keyfunc.NewDefaultCtx(ctx, []string{p.JWKSURL})
	if err != nil {
		return nil, err
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var c handClaims
		_, err := jwt.ParseWithClaims(cookie(r), &c, kf.Keyfunc, jwt.WithIssuer(p.Issuer()), jwt.WithAudience(p.ID))
		if err != nil || c.IssuedAt == nil || c.IssuedAt.Add(maxAge).Before(time.Now()) {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		s, err := toSession(c.Subject, c.Session, c.ExpiresAt.Time)
		if err != nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, s)))
	}), nil
}

// --- auth0/go-jwt-middleware v2, configured as its docs recommend. ---

// stytchClaims are the custom claims go-jwt-middleware decodes.
type stytchClaims struct {
	Session sessionClaim `json:"https://stytch.com/session"`
}

// Validate implements validator.CustomClaims.
func (c *stytchClaims) Validate(context.Context) error {
	if c.Session.ID == "" {
		return errors.New("no session claim")
	}
	return nil
}

// Auth0 is go-jwt-middleware v2 with its caching JWKS provider pointed at
// the project's JWKS, an RS256 validator for the project's issuer and
// audience with the Stytch session claim as custom claims, and a cookie
// extractor; a small adapter maps its validated claims to a session.
func Auth0(p Project, next http.Handler) (http.Handler, error) {
	base, err := url.Parse(p.BaseURL)
	if err != nil {
		return nil, err
	}
	jwksURL, err := url.Parse(p.JWKSURL)
	if err != nil {
		return nil, err
	}
	provider := jwks.NewCachingProvider(base, 5*time.Minute, jwks.WithCustomJWKSURI(jwksURL))
	v, err := validator.New(provider.KeyFunc, validator.RS256, p.Issuer(), []string{p.ID},
		validator.WithCustomClaims(func() validator.CustomClaims { return &stytchClaims{} }))
	if err != nil {
		return nil, err
	}
	mw := jwtmiddleware.New(v.ValidateToken, jwtmiddleware.WithTokenExtractor(jwtmiddleware.CookieTokenExtractor("stytch_session_jwt")))
	adapt := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		vc, ok := r.Context().Value(jwtmiddleware.ContextKey{}).(*validator.ValidatedClaims)
		if !ok {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		sc := vc.CustomClaims.(*stytchClaims).Session
		s, err := toSession(vc.RegisteredClaims.Subject, sc, time.Unix(vc.RegisteredClaims.Expiry, 0))
		if err != nil {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKey{}, s)))
	})
	return mw.CheckJWT(adapt), nil
}

// RequireRole is the permission check a peer user writes: the session's
// roles against a role-to-permissions map built from the policy.
func RequireRole(policy session.Policy, resource, action string, next http.Handler) http.Handler {
	grants := map[string]bool{}
	for _, r := range policy.Roles {
		for _, p := range r.Permissions {
			if p.ResourceID == resource && (slices.Contains(p.Actions, action) || slices.Contains(p.Actions, "*")) {
				grants[r.RoleID] = true
			}
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := FromContext(r.Context())
		if !ok {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		for _, role := range s.Roles {
			if grants[role] {
				next.ServeHTTP(w, r)
				return
			}
		}
		http.Error(w, fmt.Sprintf("%s/%s denied", resource, action), http.StatusForbidden)
	})
}
