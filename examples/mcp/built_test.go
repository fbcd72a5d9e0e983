package main

import (
	"bufio"
	"context"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
)

// TestBuiltExample drives the built examples/mcp from outside, as a person
// would try it: the binary, in emulator mode, over HTTP. A viewer signs in
// (a cross-site sign-in is refused first), an agent gets a read-only token
// through the MCP Go SDK's OAuth client, and every bypass payload is
// refused with it while list_documents works and nothing is written.
func TestBuiltExample(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the example")
	}
	bin := filepath.Join(t.TempDir(), "mcp")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-addr", "127.0.0.1:0")
	cmd.Env = []string{"PATH=/usr/bin:/bin"} // no STYTCH_* variables: the emulator runs inside
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })
	base := ""
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "listening on "); ok {
			base = u
			break
		}
	}
	if base == "" {
		t.Fatalf("the example did not start: %v", sc.Err())
	}
	go func() {
		for sc.Scan() {
		}
	}()

	// A viewer signs in on the example's own page; another site cannot
	// sign anyone in.
	login := func(site string) (*http.Response, error) {
		form := url.Values{"email": {"vera@example.com"}, "name": {"Vera"}, "role": {"viewer"}, "return_to": {"/"}}
		r, _ := http.NewRequest("POST", base+"/demo/login", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Sec-Fetch-Site", site)
		return (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(r)
	}
	if res, err := login("cross-site"); err != nil || res.StatusCode != http.StatusForbidden {
		t.Fatalf("a cross-site sign-in: %v %v", err, res.Status)
	}
	res, err := login("same-origin")
	if err != nil || res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %v %v", err, res.Status)
	}
	viewer := &person{}
	for _, c := range res.Cookies() {
		if c.Name == "stytch_session_jwt" {
			viewer.jwt = c.Value
		}
	}
	if viewer.jwt == "" {
		t.Fatal("no session cookie")
	}

	// The agent: discovery, registration, the viewer's consent, a token.
	h, err := auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
		DynamicClientRegistrationConfig: &auth.DynamicClientRegistrationConfig{Metadata: &oauthex.ClientRegistrationMetadata{
			ClientName: "Outside agent", RedirectURIs: []string{"http://127.0.0.1:33420/callback"}, GrantTypes: []string{"authorization_code"},
		}},
		AuthorizationCodeFetcher: viewer.approve(t, base),
	})
	if err != nil {
		t.Fatal(err)
	}
	cctx, ccancel := context.WithTimeout(ctx, time.Minute)
	defer ccancel()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "outside", Version: "1"}, nil).
		Connect(cctx, &mcp.StreamableClientTransport{Endpoint: base + "/mcp", OAuthHandler: h}, nil)
	if err != nil {
		t.Fatalf("connecting: %v", err)
	}
	defer cs.Close()
	ts, err := h.TokenSource(cctx)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := ts.Token()
	if err != nil || tok.Extra("scope") != "documents:read" {
		t.Fatalf("the viewer's token: %v, scope %v", err, tok.Extra("scope"))
	}
	if len(viewer.iss) != 1 || viewer.iss[0] == "" {
		t.Fatalf("the authorization response's iss: %q", viewer.iss)
	}
	checkBypasses(t, (&rawMCP{url: base + "/mcp", token: tok.AccessToken}).open(t))
}
