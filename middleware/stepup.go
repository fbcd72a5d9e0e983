package middleware

import (
	"net/http"
	"strings"
	"time"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/session"
)

// Factor names an authentication factor a step-up accepts: its Type, as
// Stytch reports it ("totp", "webauthn", "otp", "magic_link", ...), and,
// when it matters, its DeliveryMethod ("sms", "email", "authenticator_app",
// ...); an empty DeliveryMethod accepts any.
type Factor struct {
	Type, DeliveryMethod string
}

// name is f as a challenge names it: "otp/sms", or the type alone.
func (f Factor) name() string {
	if f.DeliveryMethod == "" {
		return f.Type
	}
	return f.Type + "/" + f.DeliveryMethod
}

// RequireFactor returns a guard for routes that need a recent second proof
// ("step-up"): the session in the request's context must hold one of the
// accepted factors, authenticated within the last within (by the
// middleware's clock). It reads the session's authentication factors,
// whichever way it was verified (a JWT carries them too), for consumer and
// B2B sessions. No session: 401. Otherwise refused: 403 step_up_required,
// whose JSON lists the factors that would do (factors), as does the
// WWW-Authenticate challenge (RFC 9470's insufficient_user_authentication,
// with max_age). Put it after Require.
func (m *Middleware) RequireFactor(within time.Duration, accepted ...Factor) func(http.Handler) http.Handler {
	names := make([]string, len(accepted))
	for i, f := range accepted {
		names[i] = f.name()
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if m.preflight(w, r, next) {
				return
			}
			factors, ok := m.line.factors(r)
			if !ok {
				m.refuse(w, r, &stytchguard.Refusal{Status: http.StatusUnauthorized, Code: stytchguard.CodeUnauthenticated, Message: "a session is required"})
				return
			}
			if recentFactor(factors, accepted, m.cfg.Now().Add(-within)) {
				next.ServeHTTP(w, r)
				return
			}
			m.refuse(w, r, &stytchguard.Refusal{Status: http.StatusForbidden, Code: stytchguard.CodeStepUpRequired,
				Message: "this needs a recent second factor", Factors: names, MaxAge: within,
				Diagnosis: stepUpDiagnosis(factors, names, within, m.cfg.Now())})
		})
	}
}

// stepUpDiagnosis says which factors the session holds, and how long ago
// each was last authenticated, against those the route accepts.
func stepUpDiagnosis(factors []session.AuthenticationFactor, accepted []string, within time.Duration, now time.Time) string {
	held := make([]string, 0, len(factors))
	for _, f := range factors {
		name := f.Type
		if f.DeliveryMethod != "" {
			name += "/" + f.DeliveryMethod
		}
		held = append(held, name+" "+now.Sub(f.LastAuthenticatedAt.Time).Round(time.Second).String()+" ago")
	}
	return "the session's factors: " + strings.Join(held, ", ") + "; accepted: " + strings.Join(accepted, " or ") + " within " + within.String()
}

// recentFactor reports whether one of factors matches one accepted and was
// authenticated at or after since.
func recentFactor(factors []session.AuthenticationFactor, accepted []Factor, since time.Time) bool {
	for _, f := range factors {
		if f.LastAuthenticatedAt.Before(since) {
			continue
		}
		for _, a := range accepted {
			if f.Type == a.Type && (a.DeliveryMethod == "" || f.DeliveryMethod == a.DeliveryMethod) {
				return true
			}
		}
	}
	return false
}
