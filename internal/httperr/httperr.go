package httperr

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
)

// Body is Stytch's error shape.
type Body struct {
	StatusCode   int    `json:"status_code"`
	RequestID    string `json:"request_id"`
	ErrorType    string `json:"error_type"`
	ErrorMessage string `json:"error_message"`
	ErrorURL     string `json:"error_url"`
	// Factors are the factor types a step_up_required refusal accepts.
	Factors []string `json:"factors,omitempty"`
	// Scopes are the scopes an insufficient_scope refusal asks for.
	Scopes []string `json:"scopes,omitempty"`
	// Diagnosis says which check failed, in development only
	// (stytchguard.WriteRefusalExplained).
	Diagnosis string `json:"diagnosis,omitempty"`
}

// Write answers status with a JSON Body. The message must never hold a
// token, a cookie value or a secret. Answers are not cacheable.
func Write(w http.ResponseWriter, status int, errorType, message string) {
	WriteBody(w, Body{StatusCode: status, ErrorType: errorType, ErrorMessage: message})
}

// WriteBody answers b.StatusCode with b, filling in its request id and
// error_url.
func WriteBody(w http.ResponseWriter, b Body) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(b.StatusCode)
	b.RequestID = RequestID()
	b.ErrorURL = URL(b.ErrorType, b.StatusCode)
	_ = json.NewEncoder(w).Encode(b)
}

// DocsURL is where stytchguard's own error types are described, one anchor
// each.
const DocsURL = "https://github.com/stytchguard/stytchguard/blob/main/docs/errors.md#"

// URL returns the error_url of an answer: Stytch's error page for the error
// types Stytch itself answers with (which authz passes on), this project's
// docs for the ones stytchguard adds (unauthenticated, invalid_token, ...).
func URL(errorType string, status int) string {
	switch errorType {
	case "session_authorization_error", "session_authorization_tenancy_error", "consumer_session_authorization_error", "m2m_authorization_error",
		"session_not_found", "unauthorized_credentials", "too_many_requests", "too_few_tokens_authenticated",
		"internal_server_error":
		return "https://stytch.com/docs/api/errors/" + strconv.Itoa(status)
	}
	return DocsURL + errorType
}

// RequestID returns a new id for an answer made here rather than by Stytch.
func RequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "stytchguard-" + hex.EncodeToString(b[:])
}
