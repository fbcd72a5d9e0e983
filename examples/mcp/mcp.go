package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/examples/internal/demo"
)

// toolScope is the scope a tool needs beyond the one every call needs
// (documents:read), "" for none: a call to add_document without
// documents:write is refused with 403 insufficient_scope before the MCP
// server sees it, and the client steps up (asks the person for the scope)
// from the challenge.
func toolScope(tool string) string {
	if tool == "add_document" {
		return demo.ScopeWrite
	}
	return ""
}

// maxRPCBytes bounds the JSON-RPC bodies read to find a tool's name.
const maxRPCBytes = 1 << 20

// mcpHandler is the MCP server behind the resource's guard: every request
// needs an access token with documents:read, a tool call the tool's own
// scope; the token reaches the tools as the SDK's TokenInfo.
func (a *app) mcpHandler() http.Handler {
	server := mcp.NewServer(&mcp.Implementation{Name: "stytchguard-documents", Version: "1.0.0"}, nil)
	mcp.AddTool(server, &mcp.Tool{Name: "list_documents", Description: "List the documents, newest first."}, a.listDocuments)
	mcp.AddTool(server, &mcp.Tool{Name: "add_document", Description: "Add a document with a title, written by the person the agent acts for."}, a.addDocument)
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, nil)
	withInfo := auth.RequireBearerToken(tokenInfo, &auth.RequireBearerTokenOptions{ResourceMetadataURL: a.res.MetadataURL()})(h)
	reading := a.res.Require(demo.ScopeRead)(withInfo)
	writing := a.res.Require(demo.ScopeRead, demo.ScopeWrite)(withInfo)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tool, ok := toolCalled(r); ok && toolScope(tool) == demo.ScopeWrite {
			writing.ServeHTTP(w, r)
			return
		}
		reading.ServeHTTP(w, r)
	})
}

// toolCalled returns the tool a JSON-RPC request calls, if it is a
// tools/call; the body is read (at most maxRPCBytes) and put back.
func toolCalled(r *http.Request) (string, bool) {
	if r.Method != http.MethodPost || r.Body == nil {
		return "", false
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRPCBytes))
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), r.Body))
	if err != nil {
		return "", false
	}
	var call struct {
		Method string `json:"method"`
		Params struct {
			Name string `json:"name"`
		} `json:"params"`
	}
	if json.Unmarshal(body, &call) != nil || call.Method != "tools/call" {
		return "", false
	}
	return call.Params.Name, true
}

// tokenInfo hands the access token the resource's guard verified to the
// MCP SDK, which gives it to the tools (req.Extra.TokenInfo) and binds the
// MCP session to its subject. It verifies nothing itself.
func tokenInfo(ctx context.Context, _ string, _ *http.Request) (*auth.TokenInfo, error) {
	at, ok := stytchguard.AccessTokenFromContext(ctx)
	if !ok {
		return nil, fmt.Errorf("no access token in the context: %w", auth.ErrInvalidToken)
	}
	return &auth.TokenInfo{Scopes: at.Scopes, Expiration: at.ExpiresAt, UserID: at.Subject,
		Extra: map[string]any{"client_id": at.ClientID}}, nil
}

type noArgs struct{}

type listed struct {
	Documents []demo.Document `json:"documents"`
}

func (a *app) listDocuments(_ context.Context, _ *mcp.CallToolRequest, _ noArgs) (*mcp.CallToolResult, listed, error) {
	docs := a.docs.List("")
	if docs == nil {
		docs = []demo.Document{}
	}
	return nil, listed{Documents: docs}, nil
}

type addArgs struct {
	Title string `json:"title" jsonschema:"the document's title, at most 120 characters"`
}

func (a *app) addDocument(_ context.Context, req *mcp.CallToolRequest, args addArgs) (*mcp.CallToolResult, demo.Document, error) {
	if args.Title == "" || len(args.Title) > 120 {
		return nil, demo.Document{}, fmt.Errorf("a title of 1 to 120 characters is required")
	}
	ti := req.Extra.TokenInfo
	author := demo.Person{ID: ti.UserID, Name: fmt.Sprintf("%s, through %v", ti.UserID, ti.Extra["client_id"])}
	return nil, a.docs.Add("", args.Title, author), nil
}
