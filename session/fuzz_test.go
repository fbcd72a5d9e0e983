package session_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"testing"

	"github.com/stytchguard/stytchguard/session"
)

// FuzzErrorBody answers a call with an arbitrary status and body: the
// client must never panic, must classify every failure (never KindOther),
// must call a body that is not Stytch's error JSON an outage whatever the
// status, and must never repeat the body's bytes beyond Stytch's own fields.
func FuzzErrorBody(f *testing.F) {
	f.Add(404, `{"status_code":404,"request_id":"r","error_type":"session_not_found","error_message":"m","error_url":"u"}`)
	f.Add(500, `<html>oops</html>`)
	f.Add(200, `{"request_id":`)
	f.Add(429, `{"error_type":"too_many_requests"}`)
	f.Add(401, ``)
	f.Add(200, `{"request_id":"r","status_code":200,"session":{"session_id":"s","user_id":"u","authentication_factors":[],"roles":[],"started_at":"x"}}`)
	f.Fuzz(func(t *testing.T, status int, body string) {
		if status < 100 || status > 999 {
			return
		}
		c, err := session.New(session.Config{ProjectID: "project-test-fuzz", Secret: "s", BaseURL: "http://127.0.0.1:1",
			Retry:      &session.RetryPolicy{MaxAttempts: 1},
			HTTPClient: &http.Client{Transport: fixedAnswer{status, body}}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Consumer.Authenticate(context.Background(), session.AuthenticateParams{SessionToken: "t"})
		if err == nil {
			if status < 200 || status > 299 {
				t.Fatalf("status %d accepted", status)
			}
			return
		}
		if session.Classify(err) == session.KindOther {
			t.Fatalf("unclassified: %v", err)
		}
		var api *session.APIError
		if !errors.As(err, &api) && session.Classify(err) != session.KindUnavailable {
			t.Fatalf("a non-Stytch answer classified %v", session.Classify(err))
		}
		if api != nil && api.ErrorType == "" {
			t.Fatalf("APIError without error_type")
		}
	})
}

type fixedAnswer struct {
	status int
	body   string
}

func (a fixedAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: a.status, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader([]byte(a.body))), Request: r}, nil
}
