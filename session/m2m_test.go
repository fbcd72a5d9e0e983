package session_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// TestM2MClientsAndTokens drives the M2M clients API and the token endpoint
// of the emulator through the client, errors included.
func TestM2MClientsAndTokens(t *testing.T) {
	srv := stytchtest.NewServer()
	t.Cleanup(srv.Close)
	c := srv.Client()
	ctx := context.Background()

	created, err := c.M2M.CreateClient(ctx, session.CreateMachineClientParams{
		ClientName: "reports job", Scopes: []string{"read:reports", "write:reports"},
		TrustedMetadata: map[string]any{"tier": "gold"},
	})
	if err != nil {
		t.Fatal(err)
	}
	mc := created.M2MClient
	if !strings.HasPrefix(mc.ClientID, "m2m-client-test-") || len(mc.ClientSecret) < 40 || mc.Status != session.MachineClientActive ||
		mc.ClientSecretLastFour != mc.ClientSecret[len(mc.ClientSecret)-4:] {
		t.Fatalf("created %+v", mc)
	}
	got, err := c.M2M.GetClient(ctx, mc.ClientID)
	if err != nil || got.M2MClient.ClientSecret != "" || got.M2MClient.ClientName != "reports job" {
		t.Fatalf("get: %+v, %v (the secret is shown only at creation)", got, err)
	}
	if _, err := c.M2M.GetClient(ctx, "m2m-client-test-nope"); session.Classify(err) != session.KindSessionGone {
		t.Fatalf("unknown client: %v", err)
	}
	if _, err := c.M2M.CreateClient(ctx, session.CreateMachineClientParams{ClientSecret: "short"}); session.Classify(err) != session.KindBadRequest {
		t.Fatalf("a 5-character secret: %v", err)
	}
	other, err := c.M2M.CreateClient(ctx, session.CreateMachineClientParams{ClientName: "billing", Scopes: []string{"read:invoices"}})
	if err != nil {
		t.Fatal(err)
	}

	searches := []struct {
		name  string
		p     session.SearchMachineClientsParams
		want  []string
		total int
		more  bool
	}{
		{"all", session.SearchMachineClientsParams{}, []string{mc.ClientID, other.M2MClient.ClientID}, 2, false},
		{"a page", session.SearchMachineClientsParams{Limit: 1}, []string{mc.ClientID}, 2, true},
		{"by scope", session.SearchMachineClientsParams{Query: &session.M2MSearchQuery{Operator: "AND", Operands: []map[string]any{
			{"filter_name": "scopes", "filter_value": []string{"read:invoices"}}}}}, []string{other.M2MClient.ClientID}, 1, false},
		{"by id or name", session.SearchMachineClientsParams{Query: &session.M2MSearchQuery{Operator: "OR", Operands: []map[string]any{
			{"filter_name": "client_id", "filter_value": []string{mc.ClientID}},
			{"filter_name": "client_name", "filter_value": []string{"billing"}}}}}, []string{mc.ClientID, other.M2MClient.ClientID}, 2, false},
	}
	for _, tc := range searches {
		t.Run("search "+tc.name, func(t *testing.T) {
			res, err := c.M2M.SearchClients(ctx, tc.p)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, m := range res.M2MClients {
				ids = append(ids, m.ClientID)
			}
			if strings.Join(ids, ",") != strings.Join(tc.want, ",") || res.ResultsMetadata.Total != tc.total || (res.ResultsMetadata.NextCursor != nil) != tc.more {
				t.Fatalf("got %v total %d next %v", ids, res.ResultsMetadata.Total, res.ResultsMetadata.NextCursor)
			}
		})
	}

	tokens := []struct {
		name      string
		p         session.M2MTokenParams
		wantScope string
		wantErr   string // the OAuth2 error
	}{
		{"every scope", session.M2MTokenParams{ClientID: mc.ClientID, ClientSecret: mc.ClientSecret}, "read:reports write:reports", ""},
		{"one scope", session.M2MTokenParams{ClientID: mc.ClientID, ClientSecret: mc.ClientSecret, Scopes: []string{"read:reports"}}, "read:reports", ""},
		{"a scope not granted", session.M2MTokenParams{ClientID: mc.ClientID, ClientSecret: mc.ClientSecret, Scopes: []string{"read:invoices"}}, "", stytchtest.OAuthInvalidScope},
		{"a wrong secret", session.M2MTokenParams{ClientID: mc.ClientID, ClientSecret: mc.ClientSecret + "x"}, "", stytchtest.OAuthInvalidClient},
		{"an unknown client", session.M2MTokenParams{ClientID: "m2m-client-test-nope", ClientSecret: mc.ClientSecret}, "", stytchtest.OAuthInvalidClient},
		{"no secret", session.M2MTokenParams{ClientID: mc.ClientID}, "", stytchtest.OAuthInvalidRequest},
	}
	for _, tc := range tokens {
		t.Run("token "+tc.name, func(t *testing.T) {
			res, err := c.M2M.Token(ctx, tc.p)
			if tc.wantErr != "" {
				var api *session.APIError
				if !errors.As(err, &api) || api.ErrorType != tc.wantErr || api.StatusCode != 400 || session.Classify(err) != session.KindBadRequest {
					t.Fatalf("err = %v, want 400 %s", err, tc.wantErr)
				}
				if tc.p.ClientSecret != "" && strings.Contains(err.Error(), tc.p.ClientSecret) {
					t.Fatal("the client secret is in the error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			claims := jwt.MapClaims{}
			if _, _, err := jwt.NewParser().ParseUnverified(res.AccessToken, claims); err != nil {
				t.Fatal(err)
			}
			iat, exp := claims["iat"].(float64), claims["exp"].(float64)
			if res.TokenType != "bearer" || res.ExpiresIn != 3600 || claims["sub"] != mc.ClientID || claims["scope"] != tc.wantScope ||
				claims["iss"] != "stytch.com/"+srv.ProjectID() || exp-iat != 3600 || claims[stytchtest.ClaimSession] != nil {
				t.Fatalf("token %+v, claims %v", res, claims)
			}
		})
	}

	if _, err := c.M2M.UpdateClient(ctx, session.UpdateMachineClientParams{ClientID: mc.ClientID, Status: session.MachineClientInactive}); err != nil {
		t.Fatal(err)
	}
	var api *session.APIError
	if _, err := c.M2M.Token(ctx, session.M2MTokenParams{ClientID: mc.ClientID, ClientSecret: mc.ClientSecret}); !errors.As(err, &api) || api.ErrorType != stytchtest.OAuthInvalidClient {
		t.Fatalf("an inactive client got a token: %v", err)
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
	mc, err := srv.CreateM2MClient(session.CreateMachineClientParams{Scopes: []string{"read:reports"}, TrustedMetadata: map[string]any{"tier": "gold"}})
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
