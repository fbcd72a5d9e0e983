package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// The differential test: the same requests go to the library's MCP guard
// (middleware.Resource.RequireMCP) and to the MCP Go SDK's own handler, and
// the test fails on any request for which the SDK dispatches a method or
// tool that the guard did not read, that is, whose scope the guard would
// not have asked for. Each method, tool, prompt and resource needs a scope
// of its own here, so that what the guard read shows in the scopes its 403
// names: a token holding none of them is refused with every scope the
// request needs (insufficient_scope), let through when it needs none, or
// refused for what it is (400, 413, 403 mcp_not_allowed), in which case the
// SDK never sees it.
//
//	cd examples && go test -run '^$' -fuzz '^FuzzGuardMatchesSDK$' -fuzztime 30s ./mcp
//
// TestDifferentialCatchesLooseDecoder holds the test to account: with the
// decoder examples/mcp used before (encoding/json into a struct: keys
// matched without regard to case, the last duplicate winning, a body past
// 1 MiB given up on) in the guard's place, the known bypasses fail it.

// sdkCall is what the SDK dispatched: a method, and the tool, prompt or
// resource it named.
type sdkCall struct{ method, name string }

// scopeOf is the scope the harness's guard asks for c.
func scopeOf(c sdkCall) string {
	switch c.method {
	case "tools/call":
		return "t:" + c.name
	case "prompts/get":
		return "p:" + c.name
	case "resources/read", "resources/subscribe", "resources/unsubscribe":
		return "r:" + c.name
	}
	return "m:" + c.method
}

// harnessMethods are the SDK's server methods that name nothing, each
// with a scope of its own.
var harnessMethods = []string{
	"initialize", "ping", "logging/setLevel", "server/discover", "completion/complete", "subscriptions/listen",
	"notifications/initialized", "notifications/cancelled", "notifications/progress", "notifications/roots/list_changed",
	"tools/list", "prompts/list", "resources/list", "resources/templates/list",
}

type harness struct {
	guard http.Handler // the guard, in front of a handler that answers 200
	sdk   http.Handler // the SDK's handler, alone
	none  string       // an access token with none of the harness's scopes

	mu    sync.Mutex
	calls []sdkCall
}

func newHarness(tb testing.TB) *harness {
	tb.Helper()
	emu := stytchtest.NewServer()
	tb.Cleanup(emu.Close)
	u := emu.CreateUser(stytchtest.UserParams{Email: "fuzz@example.com"})
	client, err := emu.RegisterConnectedApp("fuzz", false, "http://127.0.0.1:9/cb")
	if err != nil {
		tb.Fatal(err)
	}
	h := &harness{}
	if h.none, err = emu.IssueConnectedAppToken(u.UserID, client.ClientID, "unrelated"); err != nil {
		tb.Fatal(err)
	}
	mw, err := middleware.New(middleware.Config{Client: emu.Client(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(mw.Close)
	res, err := mw.Resource(middleware.ProtectedResource{URL: "http://127.0.0.1/mcp"})
	if err != nil {
		tb.Fatal(err)
	}
	cfg := middleware.MCP{
		Tools:     map[string][]string{},
		Prompts:   map[string][]string{"summarize": {"p:summarize"}},
		Resources: map[string][]string{"docs://all": {"r:docs://all"}},
		Methods:   map[string][]string{},
	}
	for _, t := range []string{"list_documents", "add_document"} {
		cfg.Tools[t] = []string{"t:" + t}
	}
	for _, m := range harnessMethods {
		cfg.Methods[m] = []string{"m:" + m}
	}
	guard, err := res.RequireMCP(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	h.guard = guard(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))

	server := mcp.NewServer(&mcp.Implementation{Name: "differential", Version: "1"}, &mcp.ServerOptions{
		Logger:             slog.New(slog.DiscardHandler),
		SubscribeHandler:   func(context.Context, *mcp.SubscribeRequest) error { return nil },
		UnsubscribeHandler: func(context.Context, *mcp.UnsubscribeRequest) error { return nil },
	})
	for _, t := range []string{"list_documents", "add_document"} {
		mcp.AddTool(server, &mcp.Tool{Name: t}, func(context.Context, *mcp.CallToolRequest, map[string]any) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{}, nil, nil
		})
	}
	server.AddPrompt(&mcp.Prompt{Name: "summarize"}, func(context.Context, *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		return &mcp.GetPromptResult{}, nil
	})
	server.AddResource(&mcp.Resource{URI: "docs://all", Name: "all"}, func(context.Context, *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
		return &mcp.ReadResourceResult{}, nil
	})
	server.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			c := sdkCall{method: method}
			switch r := req.(type) {
			case *mcp.CallToolRequest:
				c.name = r.Params.Name
			case *mcp.GetPromptRequest:
				c.name = r.Params.Name
			case *mcp.ReadResourceRequest:
				c.name = r.Params.URI
			case *mcp.SubscribeRequest:
				c.name = r.Params.URI
			case *mcp.UnsubscribeRequest:
				c.name = r.Params.URI
			}
			h.mu.Lock()
			h.calls = append(h.calls, c)
			h.mu.Unlock()
			return next(ctx, method, req)
		}
	})
	h.sdk = mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return server },
		&mcp.StreamableHTTPOptions{Stateless: true, JSONResponse: true, Logger: slog.New(slog.DiscardHandler)})
	return h
}

// input is one request: its body, and its MCP headers ("" for none).
type input struct {
	body                  []byte
	version, method, name string
}

// versions are the MCP-Protocol-Version headers the fuzz tries; "" for
// none, which the SDK takes as 2025-03-26 (batches allowed).
var versions = []string{"", "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"}

func (in input) request(token string) *http.Request {
	r := httptest.NewRequest("POST", "http://127.0.0.1/mcp", bytes.NewReader(in.body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", "application/json, text/event-stream")
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	if in.version != "" {
		r.Header.Set("Mcp-Protocol-Version", in.version)
	}
	if in.method != "" {
		r.Header.Add("Mcp-Method", in.method)
	}
	if in.name != "" {
		r.Header.Add("Mcp-Name", in.name)
	}
	return r
}

// dispatched sends in to the SDK alone and returns what it dispatched.
func (h *harness) dispatched(in input) []sdkCall {
	h.mu.Lock()
	h.calls = nil
	h.mu.Unlock()
	h.sdk.ServeHTTP(httptest.NewRecorder(), in.request(""))
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.calls)
}

// reading is how a guard read a request: refused outright, or let through
// with the scopes it asks for.
type reading struct {
	refused bool
	scopes  []string
	status  int
}

// guardReading is what the library's guard read: the scopes its
// insufficient_scope challenge names for a token that holds none of them.
func (h *harness) guardReading(tb testing.TB, in input) reading {
	rec := httptest.NewRecorder()
	h.guard.ServeHTTP(rec, in.request(h.none))
	switch {
	case rec.Code == http.StatusOK:
		return reading{status: 200}
	case rec.Code == http.StatusForbidden && strings.Contains(rec.Header().Get("WWW-Authenticate"), `error="insufficient_scope"`):
		_, after, _ := strings.Cut(rec.Header().Get("WWW-Authenticate"), `scope="`)
		list, _, _ := strings.Cut(after, `"`)
		return reading{scopes: strings.Fields(list), status: 403}
	case rec.Code == http.StatusBadRequest, rec.Code == http.StatusRequestEntityTooLarge, rec.Code == http.StatusForbidden:
		return reading{refused: true, status: rec.Code}
	}
	tb.Fatalf("the guard answered %d %s", rec.Code, rec.Body)
	return reading{}
}

// differential says how the guard's reading and the SDK's dispatch
// disagree, nil if they do not.
func (h *harness) differential(read reading, in input) error {
	if read.refused {
		return nil // the SDK never sees it
	}
	for _, c := range h.dispatched(in) {
		if !slices.Contains(read.scopes, scopeOf(c)) {
			return fmt.Errorf("the SDK dispatched %s %q, which needs %s, while the guard (%d) asked for %v",
				c.method, c.name, scopeOf(c), read.status, read.scopes)
		}
	}
	return nil
}

// bypasses are the bodies that took add_document past examples/mcp's
// scope check with a read-only token before RequireMCP (issue 35), and
// their kin.
func bypasses() map[string][]byte {
	call := func(params string) []byte {
		return []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{` + params + `}}`)
	}
	return map[string][]byte{
		"name, then Name":          call(`"name":"add_document","Name":"list_documents","arguments":{"title":"x"}`),
		"an escaped Name":          call(`"name":"add_document","\u004eame":"list_documents","arguments":{"title":"x"}`),
		"a duplicate Method":       []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","Method":"tools/list","params":{"name":"add_document","arguments":{"title":"x"}}}`),
		"a method in another case": []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","METHOD":"ping","params":{"name":"add_document","arguments":{"title":"x"}}}`),
		"paramſ (U+017F)":          []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add_document","arguments":{"title":"x"}},"paramſ":{"name":"list_documents"}}`),
		"a 1 MiB pad":              call(`"name":"add_document","arguments":{"title":"x","pad":"` + strings.Repeat("x", 1<<20) + `"}`),
		"a batch":                  []byte(`[{"jsonrpc":"2.0","id":1,"method":"tools/list"},{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add_document","arguments":{"title":"x"}}}]`),
	}
}

// hostile are bodies encoding/json and the SDK read alike, that the guard
// must refuse or read right.
var hostile = []string{
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_documents","n\u0061me":"add_document","arguments":{"title":"x"}}}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call","params":{"name":"add_document"}}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"n\u0061me":"add_document"}}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add\u005fdocument"}}`,
}

// plain are ordinary requests.
var plain = []string{
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_documents","arguments":{}}}`,
	`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`,
	`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}`,
	`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
	`{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"summarize"}}`,
	`{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"docs://all"}}`,
	`{"jsonrpc":"2.0","id":"x","result":{}}`,
}

func seeds() []input {
	var out []input
	for _, b := range bypasses() {
		out = append(out, input{body: b})
	}
	for _, s := range append(slices.Clone(hostile), plain...) {
		out = append(out, input{body: []byte(s)})
	}
	// The 2026-07-28 transport's headers: a mismatched Mcp-Name, a
	// matching one, and a batch from a client past batches.
	const call2026 = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add_document","arguments":{"title":"x"},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`
	return append(out,
		input{body: []byte(call2026), version: "2026-07-28", method: "tools/call", name: "list_documents"},
		input{body: []byte(call2026), version: "2026-07-28", method: "tools/call", name: "add_document"},
		input{body: []byte(`[{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add_document"}}]`), version: "2025-06-18"},
	)
}

// FuzzGuardMatchesSDK is the differential test, seeded with the known
// bypasses. .ci/run runs it for a fixed number of inputs.
func FuzzGuardMatchesSDK(f *testing.F) {
	for _, in := range seeds() {
		v := slices.Index(versions, in.version)
		f.Add(in.body, uint8(v), in.method, in.name)
	}
	h := newHarness(f)
	f.Fuzz(func(t *testing.T, body []byte, version uint8, method, name string) {
		in := input{body: body, version: versions[int(version)%len(versions)], method: method, name: name}
		if err := h.differential(h.guardReading(t, in), in); err != nil {
			t.Fatal(err)
		}
	})
}

// TestDifferentialCatchesLooseDecoder: the differential test fails the
// decoder examples/mcp used before RequireMCP on each known bypass, passes
// it on plain requests, and passes the guard on all of them: it can fail,
// and would have caught issue 35.
func TestDifferentialCatchesLooseDecoder(t *testing.T) {
	h := newHarness(t)
	for name, body := range bypasses() {
		in := input{body: body}
		if err := h.differential(looseReading(body), in); err == nil {
			t.Errorf("%s: the loose decoder passes the differential test", name)
		} else {
			t.Logf("%s: the loose decoder fails it: %v", name, err)
		}
		if err := h.differential(h.guardReading(t, in), in); err != nil {
			t.Errorf("%s: the guard fails it: %v", name, err)
		}
	}
	for _, body := range plain {
		in := input{body: []byte(body)}
		if err := h.differential(looseReading(in.body), in); err != nil {
			t.Errorf("the loose decoder fails on a plain request %s: %v", in.body, err)
		}
	}
}

// looseReading is how examples/mcp read a request before RequireMCP
// (toolCalled: encoding/json into a struct, at most 1 MiB read, anything it
// could not decode taken as a read), given the harness's scopes: what it
// decoded needs that method's or tool's scope, what it could not decode
// nothing.
func looseReading(b []byte) reading {
	body, err := io.ReadAll(io.LimitReader(bytes.NewReader(b), 1<<20))
	if err != nil {
		return reading{status: 200}
	}
	var call struct {
		Method string `json:"method"`
		Params struct {
			Name string `json:"name"`
			URI  string `json:"uri"`
		} `json:"params"`
	}
	if json.Unmarshal(body, &call) != nil || call.Method == "" {
		return reading{status: 200}
	}
	c := sdkCall{method: call.Method, name: call.Params.Name}
	if strings.HasPrefix(call.Method, "resources/") {
		c.name = call.Params.URI
	}
	return reading{scopes: []string{scopeOf(c)}, status: 200}
}
