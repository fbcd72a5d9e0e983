package stytchtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// env is an emulator with a client and a raw HTTP client. (The conformance
// module runs the emulator's exchanges through Stytch's OpenAPI document and
// strict SDK-shaped structs; these tests hold its behaviour.)
type env struct {
	*stytchtest.Server
	client *session.Client
	http   *http.Client
}

func newEnv(t *testing.T, opts ...stytchtest.Option) *env {
	t.Helper()
	// A frozen clock, so that timestamps compare to the second.
	srv := stytchtest.NewServer(append([]stytchtest.Option{stytchtest.WithFrozenClock(time.Now())}, opts...)...)
	t.Cleanup(srv.Close)
	hc := &http.Client{}
	cfg := srv.Config()
	cfg.HTTPClient = hc
	cfg.Retry = &session.RetryPolicy{MaxAttempts: 1}
	c, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &env{Server: srv, client: c, http: hc}
}

// do sends a raw API request with the project's credentials (or none when
// auth is false) and decodes the JSON answer.
func (e *env) do(t *testing.T, method, path string, body any, auth bool) (int, map[string]any) {
	t.Helper()
	status, raw := e.raw(t, method, path, body, auth)
	out := map[string]any{}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: %d with non-JSON body %q", method, path, status, raw)
	}
	return status, out
}

// raw sends an API request and returns the status and body unparsed.
func (e *env) raw(t *testing.T, method, path string, body any, auth bool) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth {
		req.SetBasicAuth(e.ProjectID(), e.Secret())
	}
	resp, err := e.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

// wantAPIError asserts err is an *APIError of this status and type.
func wantAPIError(t *testing.T, err error, status int, errorType string) {
	t.Helper()
	api, ok := err.(*session.APIError)
	if !ok {
		t.Fatalf("error = %T %v, want *session.APIError %d %s", err, err, status, errorType)
	}
	if api.StatusCode != status || api.ErrorType != errorType {
		t.Fatalf("error = %d %s, want %d %s", api.StatusCode, api.ErrorType, status, errorType)
	}
	if api.RequestID == "" {
		t.Fatalf("error without request_id")
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// consumer creates a user with a session.
func (e *env) consumer(t *testing.T, p stytchtest.SessionParams, roles ...string) (session.User, stytchtest.Tokens) {
	t.Helper()
	u := e.CreateUser(stytchtest.UserParams{Email: "ada@example.com", Roles: roles})
	tok, err := e.StartSession(u.UserID, p)
	if err != nil {
		t.Fatal(err)
	}
	return u, tok
}

// b2b creates an organization, a member and a member session.
func (e *env) b2b(t *testing.T, org stytchtest.OrganizationParams, roles ...string) (session.Organization, session.Member, stytchtest.Tokens) {
	t.Helper()
	o := e.CreateOrganization(org)
	m, err := e.CreateMember(o.OrganizationID, stytchtest.MemberParams{Email: "grace@example.com", Name: "Grace", Roles: roles})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := e.StartMemberSession(m.MemberID, stytchtest.SessionParams{})
	if err != nil {
		t.Fatal(err)
	}
	return o, m, tok
}
