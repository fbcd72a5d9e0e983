package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// BenchmarkMCPRequest sends one MCP request over a loopback connection, as
// an agent does: a tools/call of a tool with a small argument and an
// access token seen before, in an MCP session opened before, to the MCP
// Go SDK's Streamable HTTP handler (answering JSON), behind the resource's Require with the
// tool's scopes (require) and behind RequireMCP, which reads the body and
// decides the tool's scopes from it (require-mcp). The JSON decoding both
// include is the SDK's; require-mcp's own reading of the body comes on
// top. The target is require-mcp within 1.3x require.
func BenchmarkMCPRequest(b *testing.B) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	u := srv.CreateUser(stytchtest.UserParams{Email: "ada@example.com"})
	app, err := srv.RegisterConnectedApp("agent", false, "http://127.0.0.1:9/cb")
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	front := httptest.NewServer(mux)
	defer front.Close()
	url := front.URL + "/mcp"
	token, err := srv.IssueConnectedAppTokenWith(stytchtest.ConnectedAppTokenParams{SubjectID: u.UserID, ClientID: app.ClientID,
		Scopes: []string{"notes:read", "notes:write"}, Resources: []string{url}})
	if err != nil {
		b.Fatal(err)
	}
	mw, err := middleware.New(middleware.Config{Client: srv.Client()})
	if err != nil {
		b.Fatal(err)
	}
	defer mw.Close()
	res, err := mw.Resource(middleware.ProtectedResource{URL: url, Audiences: []string{url}})
	if err != nil {
		b.Fatal(err)
	}
	guard, err := res.RequireMCP(middleware.MCP{Scopes: []string{"notes:read"}, Tools: map[string][]string{"add_note": {"notes:write"}}})
	if err != nil {
		b.Fatal(err)
	}
	server := mcp.NewServer(&mcp.Implementation{Name: "bench", Version: "1.0.0"}, nil)
	type note struct {
		Title string `json:"title"`
	}
	mcp.AddTool(server, &mcp.Tool{Name: "add_note"}, func(context.Context, *mcp.CallToolRequest, note) (*mcp.CallToolResult, any, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "added"}}}, nil, nil
	})
	sdk := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, &mcp.StreamableHTTPOptions{JSONResponse: true})
	mux.Handle("/require/mcp", res.Require("notes:read", "notes:write")(sdk))
	mux.Handle("/require-mcp/mcp", guard(sdk))

	const call = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"add_note","arguments":{"title":"Minutes of the 3 May meeting"}}}`
	client := front.Client()
	send := func(tb testing.TB, path, session, body string) (*http.Response, string) {
		req, _ := http.NewRequest("POST", front.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
		if session != "" {
			req.Header.Set("Mcp-Session-Id", session)
		}
		resp, err := client.Do(req)
		if err != nil {
			tb.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			tb.Fatalf("%d %s", resp.StatusCode, got)
		}
		return resp, string(got)
	}
	for _, name := range []string{"require", "require-mcp"} {
		b.Run(name, func(b *testing.B) {
			path := "/" + name + "/mcp"
			resp, _ := send(b, path, "", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}`)
			session := resp.Header.Get("Mcp-Session-Id")
			send(b, path, session, `{"jsonrpc":"2.0","method":"notifications/initialized"}`)
			b.ReportAllocs()
			for b.Loop() {
				if _, body := send(b, path, session, call); !strings.Contains(body, "added") {
					b.Fatal(body)
				}
			}
		})
	}
}
