package httperr_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stytchguard/stytchguard/internal/httperr"
)

func TestURLPointsAtWhoeverDefinedTheType(t *testing.T) {
	tests := []struct {
		errorType string
		status    int
		want      string
	}{
		{"session_authorization_tenancy_error", 403, "https://stytch.com/docs/api/errors/403"},
		{"consumer_session_authorization_error", 403, "https://stytch.com/docs/api/errors/403"},
		{"unauthenticated", 401, httperr.DocsURL + "unauthenticated"},
		{"invalid_token", 401, httperr.DocsURL + "invalid_token"},
		{"stytch_unavailable", 503, httperr.DocsURL + "stytch_unavailable"},
		{"policy_unavailable", 503, httperr.DocsURL + "policy_unavailable"},
	}
	for _, tt := range tests {
		if got := httperr.URL(tt.errorType, tt.status); got != tt.want {
			t.Errorf("URL(%s) = %s, want %s", tt.errorType, got, tt.want)
		}
	}
}

// TestOwnTypesAreDocumented holds docs/errors.md to a section for every error
// type stytchguard answers with itself.
func TestOwnTypesAreDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/errors.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, typ := range []string{"unauthenticated", "invalid_token", "invalid_request", "stytch_unavailable", "forbidden", "method_not_allowed", "policy_unavailable", "invalid_signature", "replayed_delivery", "unknown_session", "step_up_required"} {
		if !strings.Contains(string(doc), "\n## "+typ+"\n") {
			t.Errorf("docs/errors.md has no section ## %s", typ)
		}
	}
}
