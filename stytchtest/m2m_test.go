package stytchtest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard/stytchtest"
)

// TestM2MClientsAndTokens drives the emulator's M2M clients API and its
// OAuth2 token endpoint over HTTP, as Stytch's SDKs would, errors included.
func TestM2MClientsAndTokens(t *testing.T) {
	e := newEnv(t)
	status, created := e.do(t, "POST", "/v1/m2m/clients", map[string]any{
		"client_name": "reports job", "scopes": []string{"read:reports", "write:reports"},
		"trusted_metadata": map[string]any{"tier": "gold"},
	}, true)
	mc, _ := created["m2m_client"].(map[string]any)
	id, secret := fmt.Sprint(mc["client_id"]), fmt.Sprint(mc["client_secret"])
	if status != 200 || !strings.HasPrefix(id, "m2m-client-test-") || len(secret) < 40 || mc["status"] != stytchtest.M2MClientActive ||
		mc["client_secret_last_four"] != secret[len(secret)-4:] {
		t.Fatalf("created %d %v", status, created)
	}
	status, got := e.do(t, "GET", "/v1/m2m/clients/"+id, nil, true)
	if gc, _ := got["m2m_client"].(map[string]any); status != 200 || gc["client_secret"] != nil || gc["client_name"] != "reports job" {
		t.Fatalf("get: %d %v (the secret is shown only at creation)", status, got)
	}
	if status, body := e.do(t, "GET", "/v1/m2m/clients/m2m-client-test-nope", nil, true); status != 404 {
		t.Fatalf("unknown client: %d %v", status, body)
	}
	if status, body := e.do(t, "POST", "/v1/m2m/clients", map[string]any{"client_secret": "short"}, true); status != 400 {
		t.Fatalf("a 5-character secret: %d %v", status, body)
	}
	_, other := e.do(t, "POST", "/v1/m2m/clients", map[string]any{"client_name": "billing", "scopes": []string{"read:invoices"}}, true)
	otherID := fmt.Sprint(other["m2m_client"].(map[string]any)["client_id"])

	searches := []struct {
		name  string
		body  map[string]any
		want  []string
		total float64
		more  bool
	}{
		{"all", map[string]any{}, []string{id, otherID}, 2, false},
		{"a page", map[string]any{"limit": 1}, []string{id}, 2, true},
		{"by scope", map[string]any{"query": map[string]any{"operator": "AND", "operands": []map[string]any{
			{"filter_name": "scopes", "filter_value": []string{"read:invoices"}}}}}, []string{otherID}, 1, false},
		{"by id or name", map[string]any{"query": map[string]any{"operator": "OR", "operands": []map[string]any{
			{"filter_name": "client_id", "filter_value": []string{id}},
			{"filter_name": "client_name", "filter_value": []string{"billing"}}}}}, []string{id, otherID}, 2, false},
	}
	for _, tc := range searches {
		t.Run("search "+tc.name, func(t *testing.T) {
			status, res := e.do(t, "POST", "/v1/m2m/clients/search", tc.body, true)
			var ids []string
			clients, _ := res["m2m_clients"].([]any)
			for _, c := range clients {
				ids = append(ids, fmt.Sprint(c.(map[string]any)["client_id"]))
			}
			meta, _ := res["results_metadata"].(map[string]any)
			if status != 200 || strings.Join(ids, ",") != strings.Join(tc.want, ",") || meta["total"] != tc.total || (meta["next_cursor"] != nil) != tc.more {
				t.Fatalf("%d: got %v, metadata %v", status, ids, meta)
			}
		})
	}

	tokenPath := "/v1/public/" + e.ProjectID() + "/oauth2/token"
	tokens := []struct {
		name             string
		body             map[string]any
		wantScope        string
		wantErr          string // the OAuth2 error
		secretInTheError string
	}{
		{"every scope", map[string]any{"client_id": id, "client_secret": secret}, "read:reports write:reports", "", ""},
		{"one scope", map[string]any{"client_id": id, "client_secret": secret, "scope": "read:reports"}, "read:reports", "", ""},
		{"a scope not granted", map[string]any{"client_id": id, "client_secret": secret, "scope": "read:invoices"}, "", stytchtest.OAuthInvalidScope, secret},
		{"a wrong secret", map[string]any{"client_id": id, "client_secret": secret + "x"}, "", stytchtest.OAuthInvalidClient, secret},
		{"an unknown client", map[string]any{"client_id": "m2m-client-test-nope", "client_secret": secret}, "", stytchtest.OAuthInvalidClient, secret},
		{"no secret", map[string]any{"client_id": id}, "", stytchtest.OAuthInvalidRequest, ""},
	}
	for _, tc := range tokens {
		t.Run("token "+tc.name, func(t *testing.T) {
			tc.body["grant_type"] = "client_credentials"
			status, raw := e.raw(t, "POST", tokenPath, tc.body, false)
			if tc.wantErr != "" {
				if status != 400 || !strings.Contains(string(raw), `"error":"`+tc.wantErr+`"`) {
					t.Fatalf("%d %s, want 400 %s", status, raw, tc.wantErr)
				}
				if tc.secretInTheError != "" && strings.Contains(string(raw), tc.secretInTheError) {
					t.Fatal("the client secret is in the error")
				}
				return
			}
			_, res := e.do(t, "POST", tokenPath, tc.body, false)
			claims := jwt.MapClaims{}
			if _, _, err := jwt.NewParser().ParseUnverified(fmt.Sprint(res["access_token"]), claims); err != nil {
				t.Fatalf("%d %v: %v", status, res, err)
			}
			iat, exp := claims["iat"].(float64), claims["exp"].(float64)
			if res["token_type"] != "bearer" || res["expires_in"] != float64(3600) || claims["sub"] != id || claims["scope"] != tc.wantScope ||
				claims["iss"] != "stytch.com/"+e.ProjectID() || exp-iat != 3600 || claims[stytchtest.ClaimSession] != nil {
				t.Fatalf("token %v, claims %v", res, claims)
			}
		})
	}

	if status, body := e.do(t, "PUT", "/v1/m2m/clients/"+id, map[string]any{"status": stytchtest.M2MClientInactive}, true); status != 200 {
		t.Fatalf("deactivate: %d %v", status, body)
	}
	if status, raw := e.raw(t, "POST", tokenPath, map[string]any{"grant_type": "client_credentials", "client_id": id, "client_secret": secret}, false); status != 400 ||
		!strings.Contains(string(raw), stytchtest.OAuthInvalidClient) {
		t.Fatalf("an inactive client got a token: %d %s", status, raw)
	}
}

// TestM2MClaimsTemplate: the project's template fills custom claims from the
// client's trusted metadata.
func TestM2MClaimsTemplate(t *testing.T) {
	srv := stytchtest.NewServer()
	t.Cleanup(srv.Close)
	if err := srv.SetM2MClaimsTemplate(map[string]any{"scope": "x"}); err == nil {
		t.Fatal("a template may not set scope")
	}
	if err := srv.SetM2MClaimsTemplate(map[string]any{
		"tier": "{{ client.trusted_metadata.tier }}", "missing": "{{ client.trusted_metadata.nope }}",
		"app": map[string]any{"client": "{{ client.client_id }}", "fixed": "v"},
	}); err != nil {
		t.Fatal(err)
	}
	mc, err := srv.CreateM2MClient(stytchtest.M2MClientParams{Scopes: []string{"read:reports"}, TrustedMetadata: map[string]any{"tier": "gold"}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := srv.IssueM2MToken(mc.ClientID)
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok, claims); err != nil {
		t.Fatal(err)
	}
	app, _ := claims["app"].(map[string]any)
	if _, has := claims["missing"]; claims["tier"] != "gold" || has || app["client"] != mc.ClientID || app["fixed"] != "v" {
		t.Fatalf("claims %v", claims)
	}
}
