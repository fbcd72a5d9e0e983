package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/webhook"
)

func TestServesAndShutsDown(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"given project and secret", []string{"-addr", "127.0.0.1:0", "-project-id", "project-test-11111111-1111-4111-8111-111111111111", "-secret", "s3cret"}},
		{"generated project and secret", []string{"-addr", "127.0.0.1:0"}},
		{"custom-domain issuer", []string{"-addr", "127.0.0.1:0", "-issuer", "https://login.example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			pr, pw := io.Pipe()
			done := make(chan error, 1)
			go func() { done <- run(ctx, tt.args, pw); pw.Close() }()

			out := bufio.NewReader(pr)
			line, err := out.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			go func() { _, _ = io.Copy(io.Discard, out) }() // the lines for people
			var b banner
			dec := json.NewDecoder(strings.NewReader(line))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&b); err != nil {
				t.Fatalf("banner %q: %v", line, err)
			}
			if !strings.HasPrefix(b.BaseURL, "http://127.0.0.1:") || !strings.HasPrefix(b.ProjectID, "project-test-") || b.Secret == "" {
				t.Fatalf("banner %+v", b)
			}
			wantIss := "stytch.com/" + b.ProjectID
			if len(tt.args) > 2 && tt.args[2] == "-issuer" {
				wantIss = tt.args[3]
			}
			if c := jwtClaims(t, b.Demo.Consumer.SessionJWT); c["iss"] != wantIss {
				t.Fatalf("iss %v, want %s", c["iss"], wantIss)
			}
			if len(tt.args) > 2 && tt.args[2] == "-project-id" && (b.ProjectID != tt.args[3] || b.Secret != tt.args[5]) {
				t.Fatalf("flags ignored: %+v", b)
			}
			c, err := session.New(session.Config{ProjectID: b.ProjectID, Secret: b.Secret, BaseURL: b.BaseURL})
			if err != nil {
				t.Fatal(err)
			}
			res, err := c.Consumer.Authenticate(ctx, session.AuthenticateParams{SessionJWT: b.Demo.Consumer.SessionJWT})
			if err != nil || res.Session.SessionID != b.Demo.Consumer.SessionID || res.User.UserID != b.Demo.Consumer.UserID {
				t.Fatalf("demo consumer session: %v", err)
			}
			if got := res.Session.ExpiresAt.Sub(res.Session.StartedAt.Time); got != 60*time.Minute {
				t.Fatalf("demo session lives %v", got)
			}
			mres, err := c.B2B.Authenticate(ctx, session.B2BAuthenticateParams{SessionToken: b.Demo.B2B.SessionToken})
			if err != nil || mres.MemberSession.MemberSessionID != b.Demo.B2B.MemberSessionID || mres.Organization.OrganizationID != b.Demo.B2B.OrganizationID || mres.Member.MemberID != b.Demo.B2B.MemberID {
				t.Fatalf("demo member session: %v", err)
			}
			tok, err := m2mToken(b.BaseURL, b.ProjectID, b.Demo.M2M.ClientID, b.Demo.M2M.ClientSecret, "read:reports")
			if err != nil || jwtClaims(t, tok)["scope"] != "read:reports" || jwtClaims(t, tok)["iss"] != wantIss {
				t.Fatalf("demo M2M client: %v", err)
			}

			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no clean shutdown")
			}
		})
	}
}

func TestBadFlagsAndAddress(t *testing.T) {
	if err := run(context.Background(), []string{"-nope"}, io.Discard); err == nil {
		t.Fatal("unknown flag accepted")
	}
	if err := run(context.Background(), []string{"-addr", "127.0.0.1:99999"}, io.Discard); err == nil {
		t.Fatal("bad address accepted")
	}
}

// jwtClaims decodes a JWT's payload without checking it.
func jwtClaims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]any{}
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestFlagsHelpAndErrors(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantErr bool
		wantOut string
	}{
		{"-h prints the flags and succeeds", []string{"-h"}, false, "-rate-limit"},
		{"--help too", []string{"--help"}, false, "-failed-auth-share"},
		{"an unknown flag is an error", []string{"-nope"}, true, ""},
		{"a negative rate is an error", []string{"-rate-limit", "-1"}, true, ""},
		{"a share above 1 is an error", []string{"-failed-auth-share", "1.5"}, true, ""},
		{"a webhook URL without a secret is an error", []string{"-webhook-url", "http://127.0.0.1:1/hooks"}, true, ""},
		{"a secret that is not Svix's is an error", []string{"-webhook-url", "http://127.0.0.1:1/hooks", "-webhook-secret", "hunter2"}, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			err := run(context.Background(), tt.args, &out)
			if (err != nil) != tt.wantErr || !strings.Contains(out.String(), tt.wantOut) {
				t.Fatalf("run(%v) = %v, output %q", tt.args, err, out.String())
			}
		})
	}
}

func TestRateLimitFlags(t *testing.T) {
	ctx := context.Background()
	b := startEmulator(t, "-rate-limit", "0.5", "-rate-burst", "1")
	c, err := session.New(session.Config{ProjectID: b.ProjectID, Secret: b.Secret, BaseURL: b.BaseURL, Retry: &session.RetryPolicy{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Consumer.Policy(ctx); err != nil {
		t.Fatalf("first call: %v", err)
	}
	_, err = c.Consumer.Policy(ctx)
	var api *session.APIError
	if !errors.As(err, &api) || api.StatusCode != 429 || api.ErrorType != "too_many_requests" || api.RetryAfter == 0 {
		t.Fatalf("second call within the limit's period: %v", err)
	}
	if _, err := c.Consumer.JWKS(ctx); err != nil {
		t.Fatalf("JWKS is not limited: %v", err)
	}
}

// startEmulator runs the command with args (on a free port) until the test
// ends, which must find it shutting down cleanly, and returns its banner.
func startEmulator(t *testing.T, args ...string) banner {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, args...), pw)
		pw.Close()
	}()
	out := bufio.NewReader(pr)
	line, err := out.ReadString('\n')
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, out) }() // the lines for people
	var b banner
	if err := json.Unmarshal([]byte(line), &b); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	return b
}

// TestWebhookFlags: with -webhook-url and -webhook-secret, a role change made
// through the admin API reaches the endpoint as a signed user.update.
func TestWebhookFlags(t *testing.T) {
	const secret = "whsec_c3R5dGNoZ3VhcmQtd2ViaG9vay10ZXN0LXNlY3JldA=="
	v, err := webhook.New(webhook.Config{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := v.Verify(r.Header, body); err != nil {
			got <- "refused: " + err.Error()
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		e, _ := webhook.Parse(body)
		got <- e.Type() + " " + e.ID
	}))
	defer hook.Close()
	b := startEmulator(t, "-webhook-url", hook.URL, "-webhook-secret", secret)
	req, _ := http.NewRequest("PUT", b.BaseURL+"/_emulator/users/"+b.Demo.Consumer.UserID, strings.NewReader(`{"roles":["editor"]}`))
	req.SetBasicAuth(b.ProjectID, b.Secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("PUT roles: %v %v", err, resp)
	}
	resp.Body.Close()
	// Three events, in no promised order: the demo user's and member's
	// creation at start, and the update.
	var received []string
	for range 3 {
		select {
		case s := <-got:
			received = append(received, s)
		case <-time.After(5 * time.Second):
			t.Fatalf("webhooks received: %v", received)
		}
	}
	if !slices.Contains(received, "dashboard.user.update "+b.Demo.Consumer.UserID) || !slices.Contains(received, "dashboard.member.create "+b.Demo.B2B.MemberID) {
		t.Fatalf("webhooks received: %v", received)
	}
}

// m2mToken asks the emulator's OAuth2 token endpoint for an access token,
// as an M2M client would: the client-credentials grant.
func m2mToken(baseURL, projectID, clientID, secret, scope string) (string, error) {
	res, err := http.PostForm(baseURL+"/v1/public/"+projectID+"/oauth2/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}, "scope": {scope}})
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(res.Body).Decode(&tok); err != nil || res.StatusCode != http.StatusOK || tok.AccessToken == "" {
		return "", fmt.Errorf("token endpoint: %d, %v", res.StatusCode, err)
	}
	return tok.AccessToken, nil
}

// TestDemoRolesPolicyAndEnv: the demo user and member hold -demo-roles in
// the demo policy (or the one -policy names), so that a quickstart's
// guarded write succeeds for them, and the lines for people export what an
// app needs.
func TestDemoRolesPolicyAndEnv(t *testing.T) {
	custom := filepath.Join(t.TempDir(), "policy.json")
	if err := os.WriteFile(custom, []byte(`{"roles":[{"role_id":"auditor","permissions":[{"resource_id":"logs","actions":["read"]}]}],"resources":[{"resource_id":"logs","actions":["read"]}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                 string
		args                 []string
		resource, action     string
		wantUser, wantMember bool
	}{
		{"default: editor may write documents", nil, "documents", "write", true, true},
		{"viewer may not", []string{"-demo-roles", "viewer"}, "documents", "write", false, false},
		{"viewer may read", []string{"-demo-roles", "viewer"}, "documents", "read", true, true},
		{"a policy of the app's own", []string{"-policy", custom, "-demo-roles", "auditor"}, "logs", "read", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			pr, pw := io.Pipe()
			done := make(chan error, 1)
			go func() { done <- run(ctx, append([]string{"-addr", "127.0.0.1:0"}, tt.args...), pw); pw.Close() }()
			out := bufio.NewReader(pr)
			line, err := out.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			var b banner
			if err := json.Unmarshal([]byte(line), &b); err != nil {
				t.Fatal(err)
			}
			var people strings.Builder
			for range 4 {
				l, err := out.ReadString('\n')
				if err != nil {
					t.Fatal(err)
				}
				people.WriteString(l)
			}
			go func() { _, _ = io.Copy(io.Discard, out) }()
			for _, want := range []string{"export STYTCH_PROJECT_ID=" + b.ProjectID + " ", "STYTCH_SECRET=" + b.Secret + " ", "STYTCH_BASE_URL=" + b.BaseURL + "\n",
				"DEMO_SESSION_TOKEN=" + b.Demo.Consumer.SessionToken + " ", "DEMO_MEMBER_SESSION_TOKEN=" + b.Demo.B2B.SessionToken + "\n"} {
				if !strings.Contains(people.String(), want) {
					t.Fatalf("the lines for people lack %q:\n%s", want, people.String())
				}
			}
			c, err := session.New(session.Config{ProjectID: b.ProjectID, Secret: b.Secret, BaseURL: b.BaseURL})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Consumer.Authenticate(ctx, session.AuthenticateParams{SessionToken: b.Demo.Consumer.SessionToken,
				AuthorizationCheck: &session.AuthorizationCheck{ResourceID: tt.resource, Action: tt.action}})
			if (err == nil) != tt.wantUser {
				t.Fatalf("the demo user may %s %s: %v, want %v", tt.action, tt.resource, err, tt.wantUser)
			}
			_, err = c.B2B.Authenticate(ctx, session.B2BAuthenticateParams{SessionToken: b.Demo.B2B.SessionToken,
				AuthorizationCheck: &session.AuthorizationCheck{OrganizationID: b.Demo.B2B.OrganizationID, ResourceID: tt.resource, Action: tt.action}})
			if (err == nil) != tt.wantMember {
				t.Fatalf("the demo member may %s %s: %v, want %v", tt.action, tt.resource, err, tt.wantMember)
			}
			// Stytch's default roles, whatever -policy and -demo-roles say.
			cp, err := c.Consumer.Policy(ctx)
			if err != nil || !slices.ContainsFunc(cp.Roles, func(r session.Role) bool { return r.RoleID == "stytch_user" }) {
				t.Fatalf("the consumer policy lacks stytch_user: %v %+v", err, cp)
			}
			bp, err := c.B2B.Policy(ctx)
			for _, id := range []string{"stytch_member", "stytch_admin"} {
				if err != nil || !slices.ContainsFunc(bp.Roles, func(r session.Role) bool { return r.RoleID == id }) {
					t.Fatalf("the B2B policy lacks %s: %v %+v", id, err, bp)
				}
			}
			cancel()
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
	if err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-policy", filepath.Join(t.TempDir(), "none.json")}, io.Discard); err == nil {
		t.Fatal("a missing -policy file accepted")
	}
}

// TestConnectedAppsClientFlags: without flags, Dynamic Client Registration
// is off (as in a Stytch project until enabled) and Client ID Metadata
// Documents are fetched from public addresses only, so one served on this
// machine is refused; -dcr and -cimd-loopback allow both.
func TestConnectedAppsClientFlags(t *testing.T) {
	doc := httptest.NewServer(nil)
	t.Cleanup(doc.Close)
	clientID := doc.URL + "/agent.json"
	doc.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"client_id": clientID, "client_name": "Local agent",
			"redirect_uris": []string{"http://127.0.0.1:9/cb"}, "token_endpoint_auth_method": "none"})
	})
	call := func(b banner, method, path string, body any, auth bool) (int, map[string]any) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			raw, _ := json.Marshal(body)
			rd = strings.NewReader(string(raw))
		}
		req, err := http.NewRequest(method, b.BaseURL+path, rd)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if auth {
			req.SetBasicAuth(b.ProjectID, b.Secret)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out := map[string]any{}
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatalf("%s %s: %d, not JSON: %v", method, path, resp.StatusCode, err)
		}
		return resp.StatusCode, out
	}
	registration := map[string]any{"client_name": "Agent", "redirect_uris": []string{"http://127.0.0.1:9/cb"}}
	start := func(b banner) map[string]any {
		return map[string]any{"client_id": clientID, "redirect_uri": "http://127.0.0.1:9/cb", "response_type": "code",
			"scopes": []string{"documents:read"}, "user_id": b.Demo.Consumer.UserID}
	}

	b := startEmulator(t)
	if status, meta := call(b, "GET", "/.well-known/oauth-authorization-server", nil, false); status != 200 || meta["registration_endpoint"] != nil ||
		meta["client_id_metadata_document_supported"] != true || meta["authorization_response_iss_parameter_supported"] != true {
		t.Fatalf("metadata without -dcr: %d %v", status, meta)
	}
	if status, body := call(b, "POST", "/v1/oauth2/register", registration, false); status != 403 {
		t.Fatalf("registering without -dcr: %d %v", status, body)
	}
	if status, body := call(b, "POST", "/v1/idp/oauth/authorize/start", start(b), true); status != 400 || !strings.Contains(fmt.Sprint(body["error_message"]), "https") {
		t.Fatalf("a loopback metadata document without -cimd-loopback: %d %v", status, body)
	}

	b = startEmulator(t, "-dcr", "-cimd-loopback")
	if status, meta := call(b, "GET", "/.well-known/oauth-authorization-server", nil, false); status != 200 || meta["registration_endpoint"] != b.BaseURL+"/v1/oauth2/register" {
		t.Fatalf("metadata with -dcr: %d %v", status, meta)
	}
	if status, body := call(b, "POST", "/v1/oauth2/register", registration, false); status != 201 {
		t.Fatalf("registering with -dcr: %d %v", status, body)
	}
	status, body := call(b, "POST", "/v1/idp/oauth/authorize/start", start(b), true)
	if client, _ := body["client"].(map[string]any); status != 200 || client["client_id"] != clientID || client["client_name"] != "Local agent" {
		t.Fatalf("a loopback metadata document with -cimd-loopback: %d %v", status, body)
	}
}
