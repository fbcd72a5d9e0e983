package session

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Kind is what an error from a Stytch call means for the caller: the part of
// it the middleware acts on. The zero Kind is KindOther, an error that fits no
// class below (a request that could not even be built, say).
type Kind int

// The kinds of failure a Stytch call can end in.
const (
	// KindOther is any error that is not from Stytch's answer nor the network.
	KindOther Kind = iota
	// KindSessionGone: the session, token or JWT is unknown, expired or
	// revoked (404 session_not_found). The caller should treat the user as
	// signed out.
	KindSessionGone
	// KindForbidden: the session exists but may not do what was asked (403).
	KindForbidden
	// KindBadRequest: Stytch refused the request as malformed (any other 4xx
	// but 429). Retrying the same request will not help.
	KindBadRequest
	// KindUnavailable: Stytch could not be asked or gave no usable answer: a
	// network error, a timeout, 429, 5xx, or a body that is not Stytch's JSON.
	// It says nothing about the session; retry later.
	KindUnavailable
	// KindCredentials: Stytch refused the project's own credentials (401
	// unauthorized_credentials, invalid_secret_authentication): a wrong or
	// rotated secret, or a project id of another environment. It is a
	// misconfiguration of the app, says nothing about the session, and must
	// never be read as a sign-out.
	KindCredentials
)

// String returns the kind's name.
func (k Kind) String() string {
	switch k {
	case KindSessionGone:
		return "session_gone"
	case KindForbidden:
		return "forbidden"
	case KindBadRequest:
		return "bad_request"
	case KindUnavailable:
		return "unavailable"
	case KindCredentials:
		return "credentials"
	default:
		return "other"
	}
}

// Sentinel errors, one per Kind, for errors.Is. Every error a Client returns
// matches exactly one of them, or none for KindOther.
var (
	ErrSessionGone = errors.New("stytch: session not found, expired or revoked")
	ErrForbidden   = errors.New("stytch: forbidden")
	ErrBadRequest  = errors.New("stytch: bad request")
	ErrUnavailable = errors.New("stytch: unavailable")
	ErrCredentials = errors.New("stytch: the project's credentials were refused")
)

// Error types Stytch sends that this package and the emulator name.
const (
	ErrorTypeUnauthorizedCredentials       = "unauthorized_credentials"
	ErrorTypeInvalidSecretAuthentication   = "invalid_secret_authentication"
	ErrorTypeSessionNotFound               = "session_not_found"
	ErrorTypeTooManySessionArguments       = "too_many_session_arguments"
	ErrorTypeNoSessionArguments            = "no_session_arguments"
	ErrorTypeTooManySessionRevokeArguments = "too_many_session_revoke_arguments"
	ErrorTypeNoSessionRevokeArguments      = "no_session_revoke_arguments"
	ErrorTypeInvalidSessionDuration        = "invalid_session_duration_minutes"
	ErrorTypeCustomClaimsTooLarge          = "custom_claims_too_large"
	ErrorTypeReservedClaims                = "reserved_claims_in_custom_claims"
	ErrorTypeUnableToParseSessionJWT       = "unable_to_parse_session_jwt"
	ErrorTypeConsumerAuthorization         = "consumer_session_authorization_error"
	ErrorTypeSessionAuthorization          = "session_authorization_error"
	ErrorTypeSessionAuthorizationTenancy   = "session_authorization_tenancy_error"
	// ErrorTypeM2MAuthorization is Stytch's refusal of an M2M client's
	// scopes for a permission.
	ErrorTypeM2MAuthorization = "m2m_authorization_error"
	ErrorTypeTooManyRequests  = "too_many_requests"
	// ErrorTypeTooFewTokensAuthenticated is Stytch's 429 for a project whose
	// recent authenticate calls carried too many tokens that failed.
	ErrorTypeTooFewTokensAuthenticated = "too_few_tokens_authenticated"
	ErrorTypeInternalServerError       = "internal_server_error"
)

// APIError is an error answer from Stytch, with the fields of its JSON body.
// It never holds a token or the project secret: Stytch's messages do not echo
// them.
type APIError struct {
	StatusCode   int            `json:"status_code"`
	RequestID    string         `json:"request_id"`
	ErrorType    string         `json:"error_type"`
	ErrorMessage string         `json:"error_message"`
	ErrorURL     string         `json:"error_url"`
	ErrorDetails map[string]any `json:"error_details,omitempty"`
	// RetryAfter is the server's Retry-After, zero when it sent none.
	RetryAfter time.Duration `json:"-"`
}

// Error returns the status, error type, message and request id.
func (e *APIError) Error() string {
	msg := "stytch: " + strconv.Itoa(e.StatusCode) + " " + e.ErrorType
	if e.ErrorMessage != "" {
		msg += ": " + e.ErrorMessage
	}
	if e.RequestID != "" {
		msg += " (request_id " + e.RequestID + ")"
	}
	return msg
}

// Kind classifies the answer by status and error type.
func (e *APIError) Kind() Kind {
	switch {
	case e.StatusCode == 401,
		e.ErrorType == ErrorTypeUnauthorizedCredentials,
		e.ErrorType == ErrorTypeInvalidSecretAuthentication:
		return KindCredentials
	case e.StatusCode == 404, e.ErrorType == ErrorTypeSessionNotFound:
		return KindSessionGone
	case e.StatusCode == 403:
		return KindForbidden
	case e.StatusCode == 429, e.StatusCode >= 500:
		return KindUnavailable
	case e.StatusCode >= 400:
		return KindBadRequest
	default:
		return KindUnavailable
	}
}

// Is reports whether target is the sentinel of e's Kind.
func (e *APIError) Is(target error) bool {
	return target != nil && target == sentinel(e.Kind())
}

// UnavailableError is a call that got no usable answer from Stytch: the
// network failed, the deadline passed, or the body was not Stytch's JSON. When
// Stytch did answer with an error body, the error is an *APIError instead.
type UnavailableError struct {
	// Op names the call, for example "POST /v1/sessions/authenticate".
	Op string
	// Attempts is how many requests were sent.
	Attempts int
	// StatusCode is the last HTTP status seen, 0 when none came back.
	StatusCode int
	// RetryAfter is the last Retry-After Stytch asked for, zero when none.
	RetryAfter time.Duration
	// Err is the underlying cause.
	Err error
}

// Error describes the failed call without its body or credentials.
func (e *UnavailableError) Error() string {
	msg := fmt.Sprintf("stytch: %s unavailable after %d attempt(s)", e.Op, e.Attempts)
	if e.StatusCode != 0 {
		msg += fmt.Sprintf(" (last status %d)", e.StatusCode)
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the cause.
func (e *UnavailableError) Unwrap() error { return e.Err }

// Is matches ErrUnavailable.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

// Classify returns the Kind of any error a Client returned, KindOther for
// errors that did not come from a Stytch call.
func Classify(err error) Kind {
	switch {
	case err == nil:
		return KindOther
	case errors.Is(err, ErrSessionGone):
		return KindSessionGone
	case errors.Is(err, ErrForbidden):
		return KindForbidden
	case errors.Is(err, ErrBadRequest):
		return KindBadRequest
	case errors.Is(err, ErrUnavailable):
		return KindUnavailable
	case errors.Is(err, ErrCredentials):
		return KindCredentials
	default:
		return KindOther
	}
}

// RetryAfter returns how long Stytch asked the caller to wait, or zero.
func RetryAfter(err error) time.Duration {
	var api *APIError
	if errors.As(err, &api) {
		return api.RetryAfter
	}
	var un *UnavailableError
	if errors.As(err, &un) {
		return un.RetryAfter
	}
	return 0
}

func sentinel(k Kind) error {
	switch k {
	case KindSessionGone:
		return ErrSessionGone
	case KindForbidden:
		return ErrForbidden
	case KindBadRequest:
		return ErrBadRequest
	case KindUnavailable:
		return ErrUnavailable
	case KindCredentials:
		return ErrCredentials
	default:
		return nil
	}
}
