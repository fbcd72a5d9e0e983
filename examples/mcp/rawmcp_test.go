package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/examples/internal/demo"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// rawMCP is an MCP client over plain HTTP, to send the requests an SDK
// would never build.
type rawMCP struct {
	url, token, session string
}

// send posts body with the client's token and session, and extra headers
// (name, value pairs), and returns the status and the body.
func (c *rawMCP) send(t *testing.T, body string, headers ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("POST", c.url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if c.session != "" {
		req.Header.Set("Mcp-Session-Id", c.session)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	res, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if s := res.Header.Get("Mcp-Session-Id"); s != "" {
		c.session = s
	}
	return res.StatusCode, string(b)
}

// open starts an MCP session: initialize, then initialized.
func (c *rawMCP) open(t *testing.T) *rawMCP {
	t.Helper()
	if code, body := c.send(t, `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}`,
		"MCP-Protocol-Version", "2025-06-18"); code != 200 || c.session == "" {
		t.Fatalf("initialize: %d %s", code, body)
	}
	if code, body := c.send(t, `{"jsonrpc":"2.0","method":"notifications/initialized"}`, "MCP-Protocol-Version", "2025-06-18"); code != http.StatusAccepted {
		t.Fatalf("initialized: %d %s", code, body)
	}
	return c
}

// documents lists the documents, as a reader the test makes.
func (s *story) documents(t *testing.T) string {
	t.Helper()
	u := s.person(t, demo.RoleViewer)
	app, err := s.emu.RegisterConnectedApp("Lister", false, "http://127.0.0.1:9/cb")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := s.emu.IssueConnectedAppTokenWith(stytchtest.ConnectedAppTokenParams{SubjectID: u.userID, ClientID: app.ClientID,
		Scopes: []string{demo.ScopeRead}, Resources: []string{s.mcpURL}})
	if err != nil {
		t.Fatal(err)
	}
	c := (&rawMCP{url: s.mcpURL, token: tok}).open(t)
	code, body := c.send(t, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_documents","arguments":{}}}`, "MCP-Protocol-Version", "2025-06-18")
	if code != 200 {
		t.Fatalf("list_documents: %d %s", code, body)
	}
	return body
}

// bypass is a request that once took add_document past a read-only
// token's scope (issue 35), or one like it, and the status a read-only
// token must get for it now.
type bypass struct {
	name    string
	body    string
	headers []string
	status  int
}

// bypassRows are the bypass payloads, each writing a document titled
// "pwned" if it got through.
func bypassRows() []bypass {
	const v = "MCP-Protocol-Version"
	add := `"name":"add_document","arguments":{"title":"pwned"}`
	call := func(params string) string {
		return `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{` + params + `}}`
	}
	return []bypass{
		{"name, then Name", call(add + `,"Name":"list_documents"`), []string{v, "2025-06-18"}, 400},
		{"Name, then name", call(`"Name":"list_documents",` + add), []string{v, "2025-06-18"}, 400},
		{"NAME", call(add + `,"NAME":"list_documents"`), []string{v, "2025-06-18"}, 400},
		{"an escaped Name", call(add + `,"\u004eame":"list_documents"`), []string{v, "2025-06-18"}, 400},
		{"an escaped second name", call(`"name":"list_documents","n\u0061me":"add_document","arguments":{"title":"pwned"}`), []string{v, "2025-06-18"}, 400},
		{"two methods", `{"jsonrpc":"2.0","id":7,"method":"tools/call","method":"tools/list","params":{` + add + `}}`, []string{v, "2025-06-18"}, 400},
		{"Method", `{"jsonrpc":"2.0","id":7,"method":"tools/call","Method":"tools/list","params":{` + add + `}}`, []string{v, "2025-06-18"}, 400},
		{"paramſ (encoding/json's params)", `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{` + add + `},"paramſ":{"name":"list_documents"}}`, []string{v, "2025-06-18"}, 400},
		{"a batch from a 2025-06-18 client", `[` + call(`"name":"list_documents"`) + `,` + call(add) + `]`, []string{v, "2025-06-18"}, 400},
		{"a batch from an older client needs documents:write", `[` + call(`"name":"list_documents"`) + `,` + call(add) + `]`, nil, 403},
		{"a body past 1 MiB", call(add + `,"pad":"` + strings.Repeat("x", 1<<20) + `"`), []string{v, "2025-06-18"}, 413},
		{"a mismatched Mcp-Name", call(add), []string{v, "2025-06-18", "Mcp-Method", "tools/call", "Mcp-Name", "list_documents"}, 400},
		{"a mismatched Mcp-Method", call(add), []string{v, "2025-06-18", "Mcp-Method", "tools/list"}, 400},
		{"trailing data", call(add) + `{"jsonrpc":"2.0","id":8,"method":"tools/list"}`, []string{v, "2025-06-18"}, 400},
		{"add_document itself", call(add), []string{v, "2025-06-18"}, 403},
		{"a tool the server does not list", call(`"name":"drop_documents"`), []string{v, "2025-06-18"}, 403},
	}
}

// checkBypasses sends every bypass payload with a read-only token's
// session, and checks each answer and that nothing was written, while
// list_documents works.
func checkBypasses(t *testing.T, c *rawMCP) {
	t.Helper()
	for _, b := range bypassRows() {
		code, body := c.send(t, b.body, b.headers...)
		if code != b.status {
			t.Errorf("%s: %d %.300s, want %d", b.name, code, body, b.status)
		} else {
			t.Logf("%s: %d", b.name, code)
		}
	}
	code, body := c.send(t, `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"list_documents","arguments":{}}}`, "MCP-Protocol-Version", "2025-06-18")
	if code != 200 || !strings.Contains(body, `documents`) {
		t.Fatalf("list_documents: %d %s", code, body)
	}
	if strings.Contains(body, "pwned") {
		t.Fatalf("a read-only token wrote a document: %s", body)
	}
}
