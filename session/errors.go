package session

import (
	"errors"
	"fmt"
	"strconv"
	"time"
)

// kind is what an error from a Stytch call means for the caller: the part of
// it the middleware acts on. The zero kind is kindOther, an error that fits no
// class below (a request that could not even be built, say).
type kind int

// The kinds of failure a Stytch call can end in.
const (
	// kindOther is any error that is not from Stytch's answer nor the network.
	kindOther kind = iota
	// kindSessionGone: the session, token or JWT is unknown, expired or
	// revoked (404 session_not_found). The caller should treat the user as
	// signed out.
	kindSessionGone
	// kindForbidden: the session exists but may not do what was asked (403).
	kindForbidden
	// kindBadRequest: Stytch refused the request as malformed (any other 4xx
	// but 429). Retrying the same request will not help.
	kindBadRequest
	// kindUnavailable: Stytch could not be asked or gave no usable answer: a
	// network error, a timeout, 429, 5xx, or a body that is not Stytch's JSON.
	// It says nothing about the session; retry later.
	kindUnavailable
	// kindCredentials: Stytch refused the project's own credentials (401
	// unauthorized_credentials, invalid_secret_authentication): a wrong or
	// rotated secret, or a project id of another environment. It is a
	// misconfiguration of the app, says nothing about the session, and must
	// never be read as a sign-out.
	kindCredentials
)

// String returns the kind's name.
func (k kind) String() string {
	switch k {
	case kindSessionGone:
		return "session_gone"
	case kindForbidden:
		return "forbidden"
	case kindBadRequest:
		return "bad_request"
	case kindUnavailable:
		return "unavailable"
	case kindCredentials:
		return "credentials"
	default:
		return "other"
	}
}

// Sentinel errors, one per kind, for errors.Is. Every error a Client returns
// matches exactly one of them, or none for kindOther.
var (
	ErrSessionGone = errors.New("stytch: session not found, expired or revoked")
	ErrForbidden   = errors.New("stytch: forbidden")
	ErrBadRequest  = errors.New("stytch: bad request")
	ErrUnavailable = errors.New("stytch: unavailable")
	ErrCredentials = errors.New("stytch: the project's credentials were refused")
)

// Error types of Stytch's that decide what an error means here.
const (
	errorTypeUnauthorizedCredentials     = "unauthorized_credentials"
	errorTypeInvalidSecretAuthentication = "invalid_secret_authentication"
	errorTypeSessionNotFound             = "session_not_found"
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

// kind classifies the answer by status and error type.
func (e *APIError) kind() kind {
	switch {
	case e.StatusCode == 401,
		e.ErrorType == errorTypeUnauthorizedCredentials,
		e.ErrorType == errorTypeInvalidSecretAuthentication:
		return kindCredentials
	case e.StatusCode == 404, e.ErrorType == errorTypeSessionNotFound:
		return kindSessionGone
	case e.StatusCode == 403:
		return kindForbidden
	case e.StatusCode == 429, e.StatusCode >= 500:
		return kindUnavailable
	case e.StatusCode >= 400:
		return kindBadRequest
	default:
		return kindUnavailable
	}
}

// Is reports whether target is the sentinel of e's kind.
func (e *APIError) Is(target error) bool {
	return target != nil && target == sentinel(e.kind())
}

// unavailableError is a call that got no usable answer from Stytch: the
// network failed, the deadline passed, or the body was not Stytch's JSON. It
// matches ErrUnavailable. When Stytch did answer with an error body, the
// error is an *APIError instead.
type unavailableError struct {
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
func (e *unavailableError) Error() string {
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
func (e *unavailableError) Unwrap() error { return e.Err }

// Is matches ErrUnavailable.
func (e *unavailableError) Is(target error) bool { return target == ErrUnavailable }

// classify returns the kind of any error a Client returned, kindOther for
// errors that did not come from a Stytch call.
func classify(err error) kind {
	switch {
	case err == nil:
		return kindOther
	case errors.Is(err, ErrSessionGone):
		return kindSessionGone
	case errors.Is(err, ErrForbidden):
		return kindForbidden
	case errors.Is(err, ErrBadRequest):
		return kindBadRequest
	case errors.Is(err, ErrUnavailable):
		return kindUnavailable
	case errors.Is(err, ErrCredentials):
		return kindCredentials
	default:
		return kindOther
	}
}

// RetryAfter returns how long Stytch asked the caller to wait, or zero.
func RetryAfter(err error) time.Duration {
	var api *APIError
	if errors.As(err, &api) {
		return api.RetryAfter
	}
	var un *unavailableError
	if errors.As(err, &un) {
		return un.RetryAfter
	}
	return 0
}

func sentinel(k kind) error {
	switch k {
	case kindSessionGone:
		return ErrSessionGone
	case kindForbidden:
		return ErrForbidden
	case kindBadRequest:
		return ErrBadRequest
	case kindUnavailable:
		return ErrUnavailable
	case kindCredentials:
		return ErrCredentials
	default:
		return nil
	}
}
