package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"

	"github.com/stytchguard/stytchguard/examples/internal/demo"
	"github.com/stytchguard/stytchguard/examples/internal/mcpagent"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// browse is the person in a browser for the example agent: they open the
// consent URL, read the page, allow, and their browser follows the
// redirect to the agent's loopback callback. Each redirect's iss is
// recorded.
func (p *person) browse(t *testing.T, appURL string, iss *[]string) func(context.Context, string) error {
	return func(ctx context.Context, consentURL string) error {
		fetch := p.approve(t, appURL)
		// approve follows the consent page to the redirect; the redirect
		// then goes to the agent, as a browser's would.
		got, err := fetch(ctx, &auth.AuthorizationArgs{URL: consentURL})
		if err != nil {
			return err
		}
		*iss = append(*iss, got.Iss)
		back := url.Values{"code": {got.Code}, "state": {got.State}, "iss": {got.Iss}}
		req, err := http.NewRequestWithContext(ctx, "GET", p.lastRedirect+"?"+back.Encode(), nil)
		if err != nil {
			return err
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if !strings.Contains(string(b), "id=done") {
			return fmt.Errorf("the agent's callback: %d %s", res.StatusCode, b)
		}
		return nil
	}
}

// TestCIMDAgent is the example agent (examples/mcp/agent) as a person runs
// it: it identifies itself by a Client ID Metadata Document it serves on
// loopback, registers nothing, gets the person's consent (the authorization
// response's iss is the authorization server's, which the SDK checks), and
// calls the tools. For a viewer, add_document is refused after a second
// consent that cannot grant documents:write, and nothing is written; for
// an editor it is written.
func TestCIMDAgent(t *testing.T) {
	s := startStory(t)
	for _, tt := range []struct {
		role  string
		wrote bool
	}{{demo.RoleViewer, false}, {demo.RoleEditor, true}} {
		t.Run(tt.role, func(t *testing.T) {
			p := s.person(t, tt.role)
			s.emu.ResetCalls()
			var iss []string
			var out bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			title := "Written by the CIMD agent for a " + tt.role
			res, err := mcpagent.Run(ctx, mcpagent.Config{MCPURL: s.mcpURL, Title: title, Browser: p.browse(t, s.app.URL, &iss), ConsentTimeout: 30 * time.Second}, &out)
			if err != nil {
				t.Fatalf("%v\n%s", err, out.String())
			}
			if !strings.HasPrefix(res.ClientID, "https://127.0.0.1:") || !strings.HasSuffix(res.ClientID, "/client.json") {
				t.Fatalf("the agent was known as %q, not by its document", res.ClientID)
			}
			if n := s.emu.Calls(stytchtest.OAuthRegister); n != 0 {
				t.Fatalf("%d registrations for a CIMD client", n)
			}
			if len(iss) == 0 || slices.ContainsFunc(iss, func(v string) bool { return v != s.emu.URL }) {
				t.Fatalf("the authorization responses' iss: %q, want %s", iss, s.emu.URL)
			}
			if !slices.Equal(res.Tools, []string{"add_document", "list_documents"}) || !strings.Contains(res.Listed, "documents") {
				t.Fatalf("tools %v, list_documents %s", res.Tools, res.Listed)
			}
			if res.Consents != 2 {
				t.Fatalf("%d consents, want 2 (documents:read, then the step-up)", res.Consents)
			}
			written := strings.Contains(s.documents(t), title)
			if tt.wrote != written || tt.wrote != (res.Added != "") || tt.wrote == (res.Refused != "") {
				t.Fatalf("written %v, added %q, refused %q\n%s", written, res.Added, res.Refused, out.String())
			}
		})
	}
}
