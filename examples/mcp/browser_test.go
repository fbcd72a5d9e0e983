package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"

	"github.com/stytchguard/stytchguard/examples/internal/demotest"
)

// TestBrowserConsent is the agent's story with a person in Chromium: the
// MCP Go SDK's OAuth client sends the browser to the consent page of the
// app (emulator mode), which signs the person in through the demo's form,
// shows who asks for what, and, on Allow, sends the browser to the agent's
// loopback callback with the code. Then the tool calls, the step-up for
// documents:write, and a second consent in the same browser.
func TestBrowserConsent(t *testing.T) {
	app := demotest.StartApp(t, run)
	// Started second, stopped first: Chromium's idle and preconnected
	// sockets are gone before the app shuts down.
	ctx := demotest.NewBrowser(t)
	type result struct{ code, state, iss string }
	got := make(chan result, 1)
	callback := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<p id=done>You may close this window.</p>")
		select {
		case got <- result{r.URL.Query().Get("code"), r.URL.Query().Get("state"), r.URL.Query().Get("iss")}:
		default:
		}
	}))
	defer callback.Close()
	var consents []string
	fetch := func(_ context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
		actions := []chromedp.Action{chromedp.Navigate(args.URL)}
		if len(consents) == 0 { // signed out: the demo's sign-in, back to the consent page
			actions = append(actions,
				chromedp.WaitVisible("#sign-in", chromedp.ByQuery),
				chromedp.SetValue("#email", "ed@example.com", chromedp.ByQuery),
				chromedp.SetValue("#role", "editor", chromedp.ByQuery),
				chromedp.Click("#sign-in", chromedp.ByQuery))
		}
		var client, scopes, returnsTo string
		actions = append(actions,
			chromedp.WaitVisible("#consent", chromedp.ByQuery),
			chromedp.Text("#client-name", &client, chromedp.ByQuery),
			chromedp.Text("#scopes", &scopes, chromedp.ByQuery),
			chromedp.Text("#returns-to", &returnsTo, chromedp.ByQuery),
			chromedp.Click("#approve", chromedp.ByQuery),
			chromedp.WaitVisible("#done", chromedp.ByQuery))
		if err := chromedp.Run(ctx, actions...); err != nil {
			return nil, fmt.Errorf("the browser: %w", err)
		}
		if returnsTo != callback.URL {
			return nil, fmt.Errorf("the consent page says it returns to %q, not the agent's %s", returnsTo, callback.URL)
		}
		consents = append(consents, client+": "+strings.Join(strings.Fields(scopes), " "))
		select {
		case r := <-got:
			return &auth.AuthorizationResult{Code: r.code, State: r.state, Iss: r.iss}, nil
		case <-time.After(10 * time.Second):
			return nil, fmt.Errorf("no callback")
		}
	}
	h, err := auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
		DynamicClientRegistrationConfig: &auth.DynamicClientRegistrationConfig{Metadata: &oauthex.ClientRegistrationMetadata{
			ClientName: "Browser agent", RedirectURIs: []string{callback.URL + "/callback"}, GrantTypes: []string{"authorization_code", "refresh_token"},
		}},
		AuthorizationCodeFetcher: fetch,
	})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "browser-agent", Version: "1"}, nil).
		Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: app.URL + "/mcp", OAuthHandler: h}, nil)
	if err != nil {
		t.Fatalf("connecting: %v", err)
	}
	defer cs.Close()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "add_document", Arguments: map[string]any{"title": "From the browser story"}})
	if err != nil || res.IsError {
		t.Fatalf("add_document: %v %+v", err, res)
	}
	res, err = cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "list_documents", Arguments: map[string]any{}})
	if err != nil || !strings.Contains(fmt.Sprint(res.StructuredContent), "From the browser story") {
		t.Fatalf("list_documents: %v %+v", err, res)
	}
	if len(consents) != 2 || !strings.HasPrefix(consents[0], "Browser agent: documents:read") || !strings.Contains(consents[1], "documents:write") {
		t.Fatalf("consent pages: %q", consents)
	}
}
