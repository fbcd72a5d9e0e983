package stytchguard

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stytchguard/stytchguard/internal/httperr"
)

// Codes are the stable, machine-readable error_type values of a Refusal.
// The authorization ones are Stytch's own error types, which a guard passes
// on; the rest are stytchguard's, described in docs/errors.md.
const (
	// CodeUnauthenticated: no credential was presented where one is required (401).
	CodeUnauthenticated = "unauthenticated"
	// CodeInvalidToken: the credential is malformed, badly signed, for
	// another project, or its session is expired, revoked or unknown (401).
	CodeInvalidToken = "invalid_token"
	// CodeInvalidRequest: the request itself is malformed, such as two
	// Authorization headers or an empty Bearer token (400).
	CodeInvalidRequest = "invalid_request"
	// CodeUnavailable: Stytch could not be asked, or answered what it never
	// would; nothing is known about the session (503, with Retry-After).
	CodeUnavailable = "stytch_unavailable"
	// CodePolicyUnavailable: a guard has no RBAC policy to decide with (503,
	// with Retry-After).
	CodePolicyUnavailable = "policy_unavailable"
	// CodeForbidden: a cross-origin request with a session cookie, refused
	// (403).
	CodeForbidden = "forbidden"
	// CodeMethodNotAllowed: a handler that takes only POST got another method
	// (405).
	CodeMethodNotAllowed = "method_not_allowed"
	// CodeInvalidSignature: a webhook delivery whose Svix signature or
	// timestamp is not valid (401).
	CodeInvalidSignature = "invalid_signature"
	// CodeReplay: a webhook delivery whose id was accepted before (409).
	CodeReplay = "replayed_delivery"
	// CodeUnknownSession: a session handler was asked to end a session that
	// is not one of the caller's (404).
	CodeUnknownSession = "unknown_session"
	// CodeStepUpRequired: no accepted factor was authenticated recently
	// enough (403); Refusal.Factors lists what would do.
	CodeStepUpRequired = "step_up_required"
	// CodeInsufficientScope: a machine route got a person's session, or an
	// M2M access token without the scopes it needs (403); Refusal.Scopes
	// lists them.
	CodeInsufficientScope = "insufficient_scope"
	// CodeSessionRequired: a route that needs a person's session got an M2M
	// access token (403).
	CodeSessionRequired = "session_required"
	// CodeConsumerDenied: the consumer session's roles do not grant the
	// permission (403); Stytch's consumer_session_authorization_error.
	CodeConsumerDenied = "consumer_session_authorization_error"
	// CodeMemberDenied: the member session's roles do not grant the
	// permission (403); Stytch's session_authorization_error.
	CodeMemberDenied = "session_authorization_error"
	// CodeWrongOrganization: the request acts in an organization other than
	// the member session's (403); Stytch's
	// session_authorization_tenancy_error.
	CodeWrongOrganization = "session_authorization_tenancy_error"
	// CodeMachineDenied: the M2M access token's scopes do not grant the
	// permission (403); Stytch's m2m_authorization_error.
	CodeMachineDenied = "m2m_authorization_error"
	// CodeMCPNotAllowed: an MCP request for a tool, prompt, resource or
	// method the resource's guard does not list (403): no scope would do
	// (middleware.Resource.RequireMCP).
	CodeMCPNotAllowed = "mcp_not_allowed"
	// CodeRequestTooLarge: a request body past the guard's bound, refused
	// before anything about it was decided (413).
	CodeRequestTooLarge = "request_too_large"
)

// defaultRetryAfter is the Retry-After of a 503 whose Refusal names none.
const defaultRetryAfter = 5 * time.Second

// Refusal is a request refused by the middleware, a guard, a machine route,
// a step-up check or the webhook handler: the one shape every refusal of
// the library takes. Its Message is safe to show and to log: it never holds
// a token, a cookie value or a secret.
type Refusal struct {
	// Status is the HTTP status to answer with.
	Status int
	// Code is one of the Code constants.
	Code string
	// Message says why, for people: lower case, no final period.
	Message string
	// TokenPresented reports whether a credential came with the request: the
	// 401 challenge then says invalid_token, as RFC 6750 asks.
	TokenPresented bool
	// RetryAfter is how long to wait before trying again, for 503s. Zero
	// means 5 s.
	RetryAfter time.Duration
	// RequestID is Stytch's request id when Stytch's answer caused the
	// refusal, for correlating with Stytch's logs.
	RequestID string
	// Err is the underlying cause, if any, for logs.
	Err error
	// Factors are, for CodeStepUpRequired, the factor types (and delivery
	// methods, "otp/sms") that would satisfy the route, and MaxAge how
	// recently one must have been authenticated.
	Factors []string
	MaxAge  time.Duration
	// Scopes are, for CodeInsufficientScope, the scopes the route asks for;
	// on a protected resource's routes, for its 401s too.
	Scopes []string
	// ResourceMetadata is, on a protected resource's routes, the URL of its
	// metadata (RFC 9728), which the challenge names (resource_metadata=)
	// for an OAuth client to find the authorization server.
	ResourceMetadata string
	// Diagnosis says which check failed and with what, for a developer:
	// the JWT's expiry or the issuer it named against those configured,
	// the permission missing and the roles that would grant it, the
	// factors held and their age. Only WriteRefusalExplained answers with
	// it; it never holds a token or a secret, but it does tell a prober
	// which check its forgery failed.
	Diagnosis string
}

// Error returns the code and message.
func (e *Refusal) Error() string {
	msg := "stytchguard: " + e.Code + ": " + e.Message
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *Refusal) Unwrap() error { return e.Err }

// ErrorHandler answers a refused request. It must write a response. One is
// set on the middleware (its Config.ErrorHandler); every guard behind it
// answers its own refusals with the same one (see Refuse).
type ErrorHandler func(w http.ResponseWriter, r *http.Request, e *Refusal)

// WriteRefusal is the default ErrorHandler: JSON in Stytch's error shape, a
// WWW-Authenticate challenge on 401s and 400s (RFC 6750) and on scope and
// step-up refusals (RFC 9470), and Retry-After on 503s.
func WriteRefusal(w http.ResponseWriter, _ *http.Request, e *Refusal) {
	e.SetHeaders(w.Header())
	httperr.WriteBody(w, httperr.Body{StatusCode: e.Status, ErrorType: e.Code, ErrorMessage: e.Message, Factors: e.Factors, Scopes: e.Scopes})
}

// WriteRefusalExplained is WriteRefusal for development: the answer also
// says why, in a Stytchguard-Diagnosis header and a "diagnosis" field of
// the JSON: e's Diagnosis, or its message and cause. Set it as the
// middleware's Config.ErrorHandler while developing; never in production,
// where it would tell a prober which check a forged token failed.
func WriteRefusalExplained(w http.ResponseWriter, _ *http.Request, e *Refusal) {
	e.SetHeaders(w.Header())
	why := e.Diagnosis
	if why == "" {
		why = e.Message
		if e.Err != nil {
			why += ": " + e.Err.Error()
		}
	}
	w.Header().Set("Stytchguard-Diagnosis", headerSafe(why))
	httperr.WriteBody(w, httperr.Body{StatusCode: e.Status, ErrorType: e.Code, ErrorMessage: e.Message, Factors: e.Factors, Scopes: e.Scopes, Diagnosis: why})
}

// headerSafe keeps s to printable ASCII and 512 bytes, for a header value.
func headerSafe(s string) string {
	b := make([]byte, 0, min(len(s), 512))
	for i := 0; i < len(s) && len(b) < 512; i++ {
		if c := s[i]; c >= 0x20 && c < 0x7f {
			b = append(b, c)
		}
	}
	return string(b)
}

// SetHeaders sets the headers e's answer needs, whatever its body: the
// WWW-Authenticate challenge of a 401 or 400 (RFC 6750) and of a scope or
// step-up refusal (RFC 9470), Retry-After on a 503 (RetryAfter, or
// 5 s, in whole seconds rounded up), Allow on a 405. An
// ErrorHandler of the app's calls it before it writes the status.
func (e *Refusal) SetHeaders(h http.Header) {
	switch {
	case e.Status == http.StatusUnauthorized && e.TokenPresented:
		h.Set("WWW-Authenticate", `Bearer realm="stytchguard", error="invalid_token", error_description="`+e.Message+`"`+e.resourceParams())
	case e.Status == http.StatusUnauthorized:
		h.Set("WWW-Authenticate", `Bearer realm="stytchguard"`+e.resourceParams())
	case e.Status == http.StatusBadRequest:
		h.Set("WWW-Authenticate", `Bearer realm="stytchguard", error="invalid_request", error_description="`+e.Message+`"`)
	case e.Status == http.StatusServiceUnavailable:
		setRetryAfter(h, e.RetryAfter)
	case e.Status == http.StatusMethodNotAllowed:
		h.Set("Allow", http.MethodPost)
	case e.Code == CodeInsufficientScope:
		h.Set("WWW-Authenticate", `Bearer realm="stytchguard", error="insufficient_scope", error_description="`+e.Message+
			`", scope="`+strings.Join(e.Scopes, " ")+`"`+e.metadataParam())
	case e.Code == CodeStepUpRequired:
		// RFC 9470's step-up challenge, with the factors this route takes.
		h.Set("WWW-Authenticate", `Bearer realm="stytchguard", error="insufficient_user_authentication", error_description="`+e.Message+
			`", max_age="`+strconv.Itoa(int(e.MaxAge/time.Second))+`", factors="`+strings.Join(e.Factors, " ")+`"`)
	}
}

// resourceParams are the challenge parameters of a protected resource's
// 401: its metadata and the scopes the route asks for (RFC 9728 5.1).
func (e *Refusal) resourceParams() string {
	if e.ResourceMetadata == "" {
		return ""
	}
	p := e.metadataParam()
	if len(e.Scopes) > 0 {
		p += `, scope="` + strings.Join(e.Scopes, " ") + `"`
	}
	return p
}

func (e *Refusal) metadataParam() string {
	if e.ResourceMetadata == "" {
		return ""
	}
	return `, resource_metadata="` + e.ResourceMetadata + `"`
}

// setRetryAfter sets Retry-After to d (defaultRetryAfter when zero) in
// whole seconds, rounded up, at least 1.
func setRetryAfter(h http.Header, d time.Duration) {
	if d <= 0 {
		d = defaultRetryAfter
	}
	secs := int((d + time.Second - 1) / time.Second)
	h.Set("Retry-After", strconv.Itoa(max(secs, 1)))
}

// Refuse answers r with e through the ErrorHandler the middleware recorded
// in r's context (WithErrorHandler), or WriteRefusal when there is none: a
// guard stacked behind the middleware answers in the app's one style.
func Refuse(w http.ResponseWriter, r *http.Request, e *Refusal) {
	if h, ok := ErrorHandlerFromContext(r.Context()); ok {
		h(w, r, e)
		return
	}
	WriteRefusal(w, r, e)
}

// ErrorHandlerFromContext returns the ErrorHandler recorded in ctx
// (WithErrorHandler), if any. One recorded before the request reaches the
// middleware, by an adapter for another framework or protocol, takes
// precedence over the middleware's Config.ErrorHandler: that is how the
// gRPC adapter receives every refusal as a *Refusal to turn into a status.
func ErrorHandlerFromContext(ctx context.Context) (ErrorHandler, bool) {
	h, ok := ctx.Value(handlerKey{}).(ErrorHandler)
	return h, ok && h != nil
}

// handlerKey is the context key of the ErrorHandler WithErrorHandler
// records. It is apart from the request's session value, which every
// request allocates and which stays the smaller for it: only an app with
// its own handler pays for this one.
type handlerKey struct{}

// WithErrorHandler returns a copy of ctx that records h for Refuse. The
// middleware calls it, when the app set an ErrorHandler and no handler is
// recorded yet, before it puts the session in the context, so that reading
// the session stays one lookup.
func WithErrorHandler(ctx context.Context, h ErrorHandler) context.Context {
	return context.WithValue(ctx, handlerKey{}, h)
}
