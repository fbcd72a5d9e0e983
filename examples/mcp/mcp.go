package main

import (
	"context"
	"fmt"
	"net/http"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/examples/internal/demo"
	"github.com/stytchguard/stytchguard/middleware"
)

// scopes are what each MCP request needs: documents:read, whatever it
// asks, and documents:write too for a call to add_document. A tools/call
// of a tool not listed is refused (403), whatever the token's scopes. A
// call without documents:write is refused with 403 insufficient_scope
// before the MCP server sees it, and the client steps up (asks the person
// for the scope) from the challenge.
var scopes = middleware.MCP{
	Scopes: []string{demo.ScopeRead},
	Tools: map[string][]string{
		"list_documents": nil,
		"add_document":   {demo.ScopeWrite},
	},
}

// mcpHandler is the MCP server behind the resource's MCP guard, which
// reads each request's JSON-RPC body as the MCP SDK will read it and asks
// for the scopes of what it calls; the token reaches the tools as the
// SDK's TokenInfo.
func (a *app) mcpHandler() (http.Handler, error) {
	server := mcp.NewServer(&mcp.Implementation{Name: "stytchguard-documents", Version: "1.0.0"}, nil)
	mcp.AddTool(server, &mcp.Tool{Name: "list_documents", Description: "List the documents, newest first."}, a.listDocuments)
	mcp.AddTool(server, &mcp.Tool{Name: "add_document", Description: "Add a document with a title, written by the person the agent acts for."}, a.addDocument)
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server }, nil)
	withInfo := auth.RequireBearerToken(tokenInfo, &auth.RequireBearerTokenOptions{ResourceMetadataURL: a.res.MetadataURL()})(h)
	guard, err := a.res.RequireMCP(scopes)
	if err != nil {
		return nil, err
	}
	return guard(withInfo), nil
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
