package middleware

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stytchguard/stytchguard/internal/httperr"
)

// Codes are the stable, machine-readable error_type values of the
// middleware's answers.
const (
	// CodeUnauthenticated: no credential was presented where one is required (401).
	CodeUnauthenticated = "unauthenticated"
	// CodeInvalidToken: the credential is malformed, badly signed, for
	// another project, or its session is expired, revoked or unknown (401).
	CodeInvalidToken = "invalid_token"
	// CodeInvalidRequest: the request itself is malformed, such as two
	// Authorization headers or an empty Bearer token (400).
	CodeInvalidRequest = "invalid_request"
	// CodeUnavailable: Stytch could not be asked; nothing is known about the
	// session (503, with Retry-After).
	CodeUnavailable = "stytch_unavailable"
	// CodeForbidden: cross-origin request refused by a cookie-authenticated
	// handler (403).
	CodeForbidden = "forbidden"
	// CodeMethodNotAllowed: a handler that takes only POST got another method
	// (405).
	CodeMethodNotAllowed = "method_not_allowed"
	// CodeInvalidSignature: a webhook delivery whose Svix signature or
	// timestamp is not valid (401).
	CodeInvalidSignature = "invalid_signature"
	// CodeReplay: a webhook delivery whose id was accepted before (409).
	CodeReplay = "replayed_delivery"
	// CodeUnknownSession: EndSessionHandler was asked to end a session that
	// is not one of the caller's (404).
	CodeUnknownSession = "unknown_session"
	// CodeStepUpRequired: RequireFactor found no accepted factor
	// authenticated recently enough (403); Error.Factors lists what would do.
	CodeStepUpRequired = "step_up_required"
	// CodeInsufficientScope: a route behind RequireMachine got a person's
	// session, or an M2M access token without the scopes it needs (403);
	// Error.Scopes lists them.
	CodeInsufficientScope = "insufficient_scope"
	// CodeSessionRequired: a route that needs a person's session (Require,
	// the logout and session handlers) got an M2M access token (403).
	CodeSessionRequired = "session_required"
)

// Error is a request the middleware refuses. Its Message is safe to show and
// to log: it never holds a token, a cookie value or a secret.
type Error struct {
	// Status is the HTTP status to answer with.
	Status int
	// Code is one of the Code constants.
	Code string
	// Message describes the refusal for people.
	Message string
	// TokenPresented reports whether a credential came with the request: the
	// 401 challenge then says invalid_token, as RFC 6750 asks.
	TokenPresented bool
	// RetryAfter is how long to wait before trying again, for 503s.
	RetryAfter time.Duration
	// RequestID is Stytch's request id when Stytch's answer caused the
	// error, for correlating with Stytch's logs.
	RequestID string
	// Err is the underlying cause, if any, for logs.
	Err error
	// Factors are, for CodeStepUpRequired, the factor types (and delivery
	// methods, "otp/sms") that would satisfy the route, and MaxAge how
	// recently one must have been authenticated.
	Factors []string
	MaxAge  time.Duration
	// Scopes are, for CodeInsufficientScope, the scopes the route asks for.
	Scopes []string
}

// Error returns the code and message.
func (e *Error) Error() string {
	msg := "stytchguard: " + e.Code + ": " + e.Message
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// ErrorHandler answers a refused request. It must write a response.
type ErrorHandler func(w http.ResponseWriter, r *http.Request, e *Error)

// WriteError is the default ErrorHandler: JSON in Stytch's error shape, a
// WWW-Authenticate challenge on 401s and 400s (RFC 6750), and Retry-After on
// 503s.
func WriteError(w http.ResponseWriter, _ *http.Request, e *Error) {
	h := w.Header()
	switch {
	case e.Status == http.StatusUnauthorized && e.TokenPresented:
		h.Set("WWW-Authenticate", `Bearer realm="stytchguard", error="invalid_token", error_description="`+e.Message+`"`)
	case e.Status == http.StatusUnauthorized:
		h.Set("WWW-Authenticate", `Bearer realm="stytchguard"`)
	case e.Status == http.StatusBadRequest:
		h.Set("WWW-Authenticate", `Bearer realm="stytchguard", error="invalid_request", error_description="`+e.Message+`"`)
	case e.Status == http.StatusServiceUnavailable:
		setRetryAfter(h, e.RetryAfter)
	case e.Status == http.StatusMethodNotAllowed:
		h.Set("Allow", http.MethodPost)
	case e.Code == CodeInsufficientScope:
		h.Set("WWW-Authenticate", `Bearer realm="stytchguard", error="insufficient_scope", error_description="`+e.Message+
			`", scope="`+strings.Join(e.Scopes, " ")+`"`)
	case e.Code == CodeStepUpRequired:
		// RFC 9470's step-up challenge, with the factors this route takes.
		h.Set("WWW-Authenticate", `Bearer realm="stytchguard", error="insufficient_user_authentication", error_description="`+e.Message+
			`", max_age="`+strconv.Itoa(int(e.MaxAge/time.Second))+`", factors="`+strings.Join(e.Factors, " ")+`"`)
	}
	httperr.WriteBody(w, httperr.Body{StatusCode: e.Status, ErrorType: e.Code, ErrorMessage: e.Message, Factors: e.Factors, Scopes: e.Scopes})
}

// setRetryAfter sets Retry-After to d in whole seconds, rounded up, at
// least 1.
func setRetryAfter(h http.Header, d time.Duration) {
	secs := int((d + time.Second - 1) / time.Second)
	h.Set("Retry-After", strconv.Itoa(max(secs, 1)))
}
