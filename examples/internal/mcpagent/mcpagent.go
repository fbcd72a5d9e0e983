package mcpagent

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// Config says which MCP server the agent calls and how it asks the person.
type Config struct {
	// MCPURL is the MCP server's endpoint. Required.
	MCPURL string
	// Name is the client's name, shown on the consent page. Empty means
	// "stytchguard example agent".
	Name string
	// NoCIMD turns off the Client ID Metadata Document: the agent then
	// registers (Dynamic Client Registration).
	NoCIMD bool
	// Title is the title of the document the agent asks add_document to
	// write. Empty means "Written by the example agent".
	Title string
	// Browser opens the consent URL for the person; the authorization
	// server's answer comes back to the agent's loopback callback. Nil
	// means printing the URL for the person to open.
	Browser func(ctx context.Context, url string) error
	// ConsentTimeout bounds the wait for the person; zero means 5 minutes.
	ConsentTimeout time.Duration
	// StartTimeout bounds the wait for the MCP server to listen (it may
	// still be building, started a moment before); zero means 5 minutes.
	StartTimeout time.Duration
	// HTTPClient makes the agent's requests; nil means its own, with a
	// 30 s timeout.
	HTTPClient *http.Client
}

// Result is what the agent saw.
type Result struct {
	Tools []string
	// Listed is list_documents' answer, as JSON.
	Listed string
	// Added is add_document's answer, as JSON, or empty when it was
	// refused (Refused says why).
	Added, Refused string
	// Consents is how many times the person was asked.
	Consents int
	// ClientID is the client id the agent was known by: its document's
	// URL, or the one it registered.
	ClientID string
}

// Run acts for the person, writing what happens to out.
func Run(ctx context.Context, cfg Config, out io.Writer) (*Result, error) {
	if cfg.MCPURL == "" {
		return nil, errors.New("mcpagent: the MCP server's URL is required")
	}
	if cfg.Name == "" {
		cfg.Name = "stytchguard example agent"
	}
	if cfg.Title == "" {
		cfg.Title = "Written by the example agent"
	}
	if cfg.ConsentTimeout <= 0 {
		cfg.ConsentTimeout = 5 * time.Minute
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	res := &Result{}

	// The loopback callback the person's browser returns to.
	type answer struct{ code, state, iss, err string }
	answers := make(chan answer, 1)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("mcpagent: the callback's listener: %w", err)
	}
	callback := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		a := answer{code: q.Get("code"), state: q.Get("state"), iss: q.Get("iss"), err: q.Get("error")}
		select {
		case answers <- a:
		default: // an answer is already waiting
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if a.err != "" {
			fmt.Fprintf(w, "<p>Not allowed (%s). You may close this window.</p>", html.EscapeString(a.err))
			return
		}
		fmt.Fprint(w, "<p id=done>Done: the agent goes on. You may close this window.</p>")
	})}
	go func() { _ = callback.Serve(ln) }()
	defer callback.Close()
	redirect := "http://" + ln.Addr().String() + "/callback"

	hcfg := &auth.AuthorizationCodeHandlerConfig{
		RedirectURL: redirect,
		DynamicClientRegistrationConfig: &auth.DynamicClientRegistrationConfig{Metadata: &oauthex.ClientRegistrationMetadata{
			ClientName: cfg.Name, RedirectURIs: []string{redirect}, GrantTypes: []string{"authorization_code"},
			ResponseTypes: []string{"code"}, TokenEndpointAuthMethod: "none",
		}},
		Client: hc,
		AuthorizationCodeFetcher: func(ctx context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
			res.Consents++
			fmt.Fprintf(out, "\nOpen this URL in a browser, sign in and decide (waiting up to %v):\n\n  %s\n\n", cfg.ConsentTimeout, args.URL)
			if cfg.Browser != nil {
				if err := cfg.Browser(ctx, args.URL); err != nil {
					return nil, fmt.Errorf("the browser: %w", err)
				}
			}
			wait, cancel := context.WithTimeout(ctx, cfg.ConsentTimeout)
			defer cancel()
			select {
			case a := <-answers:
				if a.err != "" {
					return nil, fmt.Errorf("the person did not allow it: %s", a.err)
				}
				fmt.Fprintln(out, "agent: the person decided; exchanging the code")
				// iss (RFC 9207) goes to the SDK, which checks it is the
				// authorization server it discovered.
				return &auth.AuthorizationResult{Code: a.code, State: a.state, Iss: a.iss}, nil
			case <-wait.Done():
				return nil, fmt.Errorf("no answer from the browser: %w", wait.Err())
			}
		},
	}
	if !cfg.NoCIMD {
		// The document is served over https (the SDK takes no other),
		// from this machine: an authorization server in local mode (the
		// examples' emulator) fetches it from loopback.
		var docURL string
		doc := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/client.json" {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Cache-Control", "max-age=300")
			_ = json.NewEncoder(w).Encode(map[string]any{
				"client_id": docURL, "client_name": cfg.Name, "redirect_uris": []string{redirect},
				"grant_types": []string{"authorization_code"}, "response_types": []string{"code"}, "token_endpoint_auth_method": "none",
			})
		}))
		doc.StartTLS()
		defer doc.Close()
		docURL = doc.URL + "/client.json"
		hcfg.ClientIDMetadataDocumentConfig = &auth.ClientIDMetadataDocumentConfig{URL: docURL}
		fmt.Fprintf(out, "agent: my Client ID Metadata Document is %s\n", docURL)
	}
	h, err := auth.NewAuthorizationCodeHandler(hcfg)
	if err != nil {
		return nil, fmt.Errorf("mcpagent: %w", err)
	}
	client := mcp.NewClient(&mcp.Implementation{Name: "stytchguard-example-agent", Version: "1.0.0"}, nil)
	if err := awaitListening(ctx, cfg.MCPURL, cmp.Or(cfg.StartTimeout, 5*time.Minute), out); err != nil {
		return res, err
	}
	fmt.Fprintf(out, "agent: connecting to %s\n", cfg.MCPURL)
	cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: cfg.MCPURL, OAuthHandler: h, HTTPClient: hc}, nil)
	if err != nil {
		return res, fmt.Errorf("mcpagent: connecting: %w", err)
	}
	defer cs.Close()
	if ts, err := h.TokenSource(ctx); err == nil && ts != nil {
		if tok, err := ts.Token(); err == nil {
			res.ClientID = clientID(tok.AccessToken)
			fmt.Fprintf(out, "agent: connected as client %s with scope %q\n", res.ClientID, tok.Extra("scope"))
		}
	}
	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("mcpagent: tools/list: %w", err)
	}
	for _, t := range tools.Tools {
		res.Tools = append(res.Tools, t.Name)
	}
	fmt.Fprintf(out, "agent: tools: %v\n", res.Tools)
	listed, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "list_documents", Arguments: map[string]any{}})
	if err != nil || listed.IsError {
		return res, fmt.Errorf("mcpagent: list_documents: %v %v", err, listed)
	}
	b, _ := json.Marshal(listed.StructuredContent)
	res.Listed = string(b)
	fmt.Fprintf(out, "agent: list_documents: %s\n", res.Listed)
	added, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "add_document", Arguments: map[string]any{"title": cfg.Title}})
	switch {
	case err != nil:
		res.Refused = err.Error()
	case added.IsError:
		b, _ := json.Marshal(added.Content)
		res.Refused = string(b)
	default:
		b, _ := json.Marshal(added.StructuredContent)
		res.Added = string(b)
	}
	if res.Refused != "" {
		fmt.Fprintf(out, "agent: add_document was refused: %s\n", res.Refused)
	} else {
		fmt.Fprintf(out, "agent: add_document: %s\n", res.Added)
	}
	return res, nil
}

// awaitListening waits until something listens at raw's host and port, up
// to limit: the server started in the background a moment before may
// still be compiling. It says so once when it has to wait.
func awaitListening(ctx context.Context, raw string, limit time.Duration, out io.Writer) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Errorf("mcpagent: %q is not a URL with a host", raw)
	}
	host := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var d net.Dialer
	for said := false; ; {
		conn, err := d.DialContext(ctx, "tcp", host)
		if err == nil {
			return conn.Close()
		}
		if !said {
			fmt.Fprintf(out, "agent: waiting for the MCP server at %s to listen (it may still be building)\n", host)
			said = true
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("mcpagent: nothing listens at %s after %v: is the MCP server running?", host, limit)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
