package conformance_test

import (
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/stytchguard/stytchguard/stytchtest"
)

// The M2M answers, as stytch-go v18.1.0's stytch/consumer/m2m types
// (M2MClient, M2MClientWithClientSecret, ResultsMetadata, TokenResponse) and
// stytcherror.OAuth2Error read them, plus the request_id and status_code
// Stytch's reference shows on every answer. Stytch's OpenAPI subset in
// ../shared has no M2M paths, so these exchanges are checked by shape only.

type wM2MClient struct {
	ClientID                 string         `json:"client_id"`
	ClientSecret             string         `json:"client_secret" wire:"optional"` // at creation only
	ClientName               string         `json:"client_name"`
	ClientDescription        string         `json:"client_description"`
	Status                   string         `json:"status"`
	Scopes                   []string       `json:"scopes"`
	ClientSecretLastFour     string         `json:"client_secret_last_four"`
	NextClientSecretLastFour *string        `json:"next_client_secret_last_four"`
	TrustedMetadata          map[string]any `json:"trusted_metadata"`
}

type wM2MClientAnswer struct {
	RequestID  string     `json:"request_id"`
	StatusCode int        `json:"status_code"`
	M2MClient  wM2MClient `json:"m2m_client"`
}

type wM2MSearch struct {
	RequestID       string       `json:"request_id"`
	StatusCode      int          `json:"status_code"`
	M2MClients      []wM2MClient `json:"m2m_clients"`
	ResultsMetadata struct {
		Total      int     `json:"total"`
		NextCursor *string `json:"next_cursor"`
	} `json:"results_metadata"`
}

type wM2MToken struct {
	RequestID   string `json:"request_id"`
	StatusCode  int    `json:"status_code"`
	AccessToken string `json:"access_token"`
	ExpiresIn   int    `json:"expires_in"`
	TokenType   string `json:"token_type"`
}

type wOAuth2Error struct {
	StatusCode  int    `json:"status_code"`
	RequestID   string `json:"request_id"`
	Error       string `json:"error"`
	Description string `json:"error_description"`
	URI         string `json:"error_uri"`
}

func TestM2MAnswersConformToStytchsShapes(t *testing.T) {
	srv := stytchtest.NewServer()
	t.Cleanup(srv.Close)
	hc := &http.Client{}
	status, raw := send(t, srv, hc, "POST", "/v1/m2m/clients", map[string]any{"client_name": "job", "scopes": []string{"read:reports"}}, true)
	if status != 200 {
		t.Fatalf("create: %d %s", status, raw)
	}
	if err := conform(reflect.TypeOf(wM2MClientAnswer{}), raw); err != nil {
		t.Fatalf("create: %v\n%s", err, raw)
	}
	mc, err := srv.CreateM2MClient(stytchtest.M2MClientParams{Scopes: []string{"read:reports"}})
	if err != nil {
		t.Fatal(err)
	}
	form := "grant_type=client_credentials&client_id=" + mc.ClientID + "&client_secret=" + mc.ClientSecret
	tests := []struct {
		name, method, path string
		body               any
		auth               bool
		status             int
		into               any
	}{
		{"get", "GET", "/v1/m2m/clients/" + mc.ClientID, nil, true, 200, wM2MClientAnswer{}},
		{"update", "PUT", "/v1/m2m/clients/" + mc.ClientID, map[string]any{"client_description": "nightly"}, true, 200, wM2MClientAnswer{}},
		{"search", "POST", "/v1/m2m/clients/search", map[string]any{"limit": 1}, true, 200, wM2MSearch{}},
		{"unknown client", "GET", "/v1/m2m/clients/m2m-client-test-nope", nil, true, 404, wError{}},
		{"token, JSON", "POST", "/v1/public/" + srv.ProjectID() + "/oauth2/token", map[string]any{"grant_type": "client_credentials", "client_id": mc.ClientID, "client_secret": mc.ClientSecret}, false, 200, wM2MToken{}},
		{"token, wrong secret", "POST", "/v1/public/" + srv.ProjectID() + "/oauth2/token", map[string]any{"grant_type": "client_credentials", "client_id": mc.ClientID, "client_secret": "wrong-secret"}, false, 400, wOAuth2Error{}},
		{"token, another grant", "POST", "/v1/public/" + srv.ProjectID() + "/oauth2/token", map[string]any{"grant_type": "password"}, false, 400, wOAuth2Error{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, raw := send(t, srv, hc, tc.method, tc.path, tc.body, tc.auth)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, raw)
			}
			if err := conform(reflect.TypeOf(tc.into), raw); err != nil {
				t.Fatalf("%v\n%s", err, raw)
			}
		})
	}
	t.Run("token, form", func(t *testing.T) {
		resp, err := http.Post(srv.URL+"/v1/public/"+srv.ProjectID()+"/oauth2/token", "application/x-www-form-urlencoded", strings.NewReader(form))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw := readAll(t, resp)
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, raw)
		}
		if err := conform(reflect.TypeOf(wM2MToken{}), raw); err != nil {
			t.Fatalf("%v\n%s", err, raw)
		}
	})
}

func readAll(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
