package middleware_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/middleware"
)

// mcpApp is newAgentApp with an MCP endpoint at /rpc behind RequireMCP:
// every request needs notes:read, add_note notes:write too. The handler
// behind it echoes the body it was given, and counts its calls.
type mcpApp struct {
	*agentApp
	served atomic.Int32
}

var notesTools = middleware.MCP{
	Scopes: []string{"notes:read"},
	Tools:  map[string][]string{"list_notes": nil, "add_note": {"notes:write"}, "purge_notes": {"notes:write", "notes:admin"}},
	Prompts: map[string][]string{
		"summarize": nil,
	},
	Resources: map[string][]string{"notes://all": nil, "notes://secret": {"notes:admin"}},
	Methods:   map[string][]string{"completion/complete": nil},
}

func newMCPApp(t *testing.T, cfg middleware.MCP) *mcpApp {
	t.Helper()
	a := &mcpApp{agentApp: newAgentApp(t)}
	guard, err := a.res.RequireMCP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.h.(*http.ServeMux).Handle("/rpc", guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.served.Add(1)
		b, err := io.ReadAll(r.Body)
		if err != nil || r.Body.Close() != nil {
			http.Error(w, "body", 500)
			return
		}
		if r.ContentLength != int64(len(b)) && r.Method == http.MethodPost {
			http.Error(w, "content length", 500)
			return
		}
		_, _ = w.Write(b)
	})))
	return a
}

func (a *mcpApp) post(t *testing.T, token, body string, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("POST", "/rpc", strings.NewReader(body))
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	return a.do(r)
}

func call(tool string) string {
	return `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"` + tool + `","arguments":{"title":"x"}}}`
}

// TestRequireMCP: each request needs what it asks for, read as the MCP
// SDK reads it; what the guard cannot read that way is refused before the
// server sees it, and what it lets through reaches the server intact.
func TestRequireMCP(t *testing.T) {
	a := newMCPApp(t, notesTools)
	read := a.token(t, "notes:read")
	write := a.token(t, "notes:read", "notes:write")
	none := a.token(t, "profile")
	for _, tt := range []struct {
		name    string
		token   string
		body    string
		headers []string
		status  int
		code    string
		scope   string // the challenge's scope=, for 403 insufficient_scope
	}{
		{"list_notes, read-only", read, call("list_notes"), nil, 200, "", ""},
		{"add_note, read-only", read, call("add_note"), nil, 403, "insufficient_scope", "notes:read notes:write"},
		{"add_note, read-write", write, call("add_note"), nil, 200, "", ""},
		{"purge_notes names every scope it needs", read, call("purge_notes"), nil, 403, "insufficient_scope", "notes:read notes:write notes:admin"},
		{"a token without even notes:read, for add_note", none, call("add_note"), nil, 403, "insufficient_scope", "notes:read notes:write"},
		{"tools/list", read, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, nil, 200, "", ""},
		{"tools/list without notes:read", none, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, nil, 403, "insufficient_scope", "notes:read"},
		{"initialize", read, `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}`, nil, 200, "", ""},
		{"a notification", read, `{"jsonrpc":"2.0","method":"notifications/initialized"}`, nil, 200, "", ""},
		{"a response", read, `{"jsonrpc":"2.0","id":"s1","result":{}}`, nil, 200, "", ""},
		{"a listed prompt", read, `{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"summarize"}}`, nil, 200, "", ""},
		{"a listed resource", read, `{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"notes://all"}}`, nil, 200, "", ""},
		{"a resource that needs more", read, `{"jsonrpc":"2.0","id":1,"method":"resources/subscribe","params":{"uri":"notes://secret"}}`, nil, 403, "insufficient_scope", "notes:read notes:admin"},
		{"a listed method", read, `{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{}}`, nil, 200, "", ""},

		{"an unlisted tool", write, call("drop_tables"), nil, 403, "mcp_not_allowed", ""},
		{"no tool name", write, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{}}`, nil, 403, "mcp_not_allowed", ""},
		{"an unlisted prompt", write, `{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"other"}}`, nil, 403, "mcp_not_allowed", ""},
		{"an unlisted resource", write, `{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"notes://other"}}`, nil, 403, "mcp_not_allowed", ""},
		{"an unlisted method", write, `{"jsonrpc":"2.0","id":1,"method":"subscriptions/listen","params":{}}`, nil, 403, "mcp_not_allowed", ""},
		{"a tool's name in a method's case", write, call("Add_note"), nil, 403, "mcp_not_allowed", ""},

		{"name and Name", read, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add_note","Name":"list_notes"}}`, nil, 400, "invalid_request", ""},
		{"Name and name", read, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"Name":"list_notes","name":"add_note"}}`, nil, 400, "invalid_request", ""},
		{"two names", read, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_notes","name":"add_note"}}`, nil, 400, "invalid_request", ""},
		{"an escaped second name", read, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_notes","\u006eame":"add_note"}}`, nil, 400, "invalid_request", ""},
		{"an escaped name alone is the name", read, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"n\u0061me":"add_note"}}`, nil, 403, "insufficient_scope", "notes:read notes:write"},
		{"an escaped tool name", read, `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add\u005fnote"}}`, nil, 403, "insufficient_scope", "notes:read notes:write"},
		{"two methods", read, `{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call","params":{"name":"add_note"}}`, nil, 400, "invalid_request", ""},
		{"Method", read, `{"jsonrpc":"2.0","id":1,"method":"tools/list","Method":"tools/call","params":{"name":"add_note"}}`, nil, 400, "invalid_request", ""},
		{"paramſ", read, `{"jsonrpc":"2.0","id":1,"method":"tools/call","paramſ":{"name":"add_note"}}`, nil, 400, "invalid_request", ""},
		{"not JSON", read, `{"jsonrpc":"2.0",`, nil, 400, "invalid_request", ""},
		{"data after the message", read, call("list_notes") + call("add_note"), nil, 400, "invalid_request", ""},
		{"an empty body", read, ``, nil, 400, "invalid_request", ""},

		{"a batch needs the union", read, `[` + call("list_notes") + `,` + call("add_note") + `]`, nil, 403, "insufficient_scope", "notes:read notes:write"},
		{"a batch, all held", write, `[` + call("list_notes") + `,` + call("add_note") + `]`, nil, 200, "", ""},
		{"a batch with an unlisted tool", write, `[` + call("list_notes") + `,` + call("drop_tables") + `]`, nil, 403, "mcp_not_allowed", ""},
		{"a batch with a current protocol version", write, `[` + call("list_notes") + `]`, []string{"MCP-Protocol-Version", "2025-06-18"}, 400, "invalid_request", ""},
		{"a batch with Mcp-Method", write, `[` + call("list_notes") + `]`, []string{"Mcp-Method", "tools/call"}, 400, "invalid_request", ""},

		{"matching headers", read, call("list_notes"), []string{"Mcp-Method", "tools/call", "Mcp-Name", "list_notes"}, 200, "", ""},
		{"a mismatched Mcp-Name", read, call("add_note"), []string{"Mcp-Method", "tools/call", "Mcp-Name", "list_notes"}, 400, "invalid_request", ""},
		{"a mismatched Mcp-Method", read, call("add_note"), []string{"Mcp-Method", "tools/list"}, 400, "invalid_request", ""},
		{"Mcp-Name twice", read, call("list_notes"), []string{"Mcp-Name", "list_notes", "Mcp-Name", "add_note"}, 400, "invalid_request", ""},
		{"Mcp-Name in base64", read, call("list_notes"), []string{"Mcp-Name", "=?base64?bGlzdF9ub3Rlcw==?="}, 200, "", ""},
		{"Mcp-Name in bad base64", read, call("list_notes"), []string{"Mcp-Name", "=?base64?bGlzdF9ub3Rlcw?="}, 400, "invalid_request", ""},
		{"Mcp-Name for tools/list", read, `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, []string{"Mcp-Name", "add_note"}, 400, "invalid_request", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := a.served.Load()
			rec := a.post(t, tt.token, tt.body, tt.headers...)
			if rec.Code != tt.status {
				t.Fatalf("%d %s, want %d", rec.Code, rec.Body, tt.status)
			}
			served := a.served.Load() > before
			if served != (tt.status == 200) {
				t.Fatalf("the server saw it: %v", served)
			}
			if tt.status == 200 {
				if rec.Body.String() != tt.body {
					t.Fatalf("the server was given %q", rec.Body)
				}
				return
			}
			if got := body(t, rec)["error_type"]; got != tt.code {
				t.Fatalf("error_type %v, want %s", got, tt.code)
			}
			challenge := rec.Header().Get("WWW-Authenticate")
			if tt.scope != "" && (!strings.Contains(challenge, `error="insufficient_scope"`) || !strings.Contains(challenge, `scope="`+tt.scope+`"`) ||
				!strings.Contains(challenge, `resource_metadata="https://notes.example.com/.well-known/oauth-protected-resource/mcp"`)) {
				t.Fatalf("challenge %s, want scope %q", challenge, tt.scope)
			}
		})
	}
}

// TestRequireMCPBody: a body past the bound is a 413, whether its length
// is declared or not, and nothing is decided; one at the bound is read.
func TestRequireMCPBody(t *testing.T) {
	cfg := notesTools
	cfg.MaxBodyBytes = 4096
	a := newMCPApp(t, cfg)
	read := a.token(t, "notes:read")
	pad := func(n int) string {
		b := call("list_notes")
		return b[:len(b)-1] + `,"pad":"` + strings.Repeat("x", n-len(b)-9) + `"}`
	}
	if got := len(pad(4096)); got != 4096 {
		t.Fatalf("pad: %d", got)
	}
	for _, tt := range []struct {
		name    string
		body    string
		chunked bool
		status  int
	}{
		{"at the bound", pad(4096), false, 200},
		{"at the bound, chunked", pad(4096), true, 200},
		{"past the bound", pad(4097), false, 413},
		{"past the bound, chunked", pad(4097), true, 413},
		{"a megabyte, chunked", pad(1 << 20), true, 413},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var rd io.Reader = strings.NewReader(tt.body)
			if tt.chunked {
				rd = io.MultiReader(rd) // no length known
			}
			r := httptest.NewRequest("POST", "/rpc", rd)
			if tt.chunked {
				r.ContentLength = -1
			}
			r.Header.Set("Authorization", "Bearer "+read)
			before := a.served.Load()
			rec := a.do(r)
			if rec.Code != tt.status || (a.served.Load() > before) != (tt.status == 200) {
				t.Fatalf("%d %s", rec.Code, rec.Body)
			}
			if tt.status == 413 && (body(t, rec)["error_type"] != "request_too_large" || rec.Header().Get("Connection") != "close") {
				t.Fatalf("%s %v", rec.Body, rec.Header())
			}
			if tt.status == 200 && rec.Body.String() != tt.body {
				t.Fatal("the body was not given back intact")
			}
		})
	}
	// A real server and client: the declared length, and an upstream
	// MaxBytesReader's error, are answered alike.
	srv := httptest.NewServer(a.h)
	defer srv.Close()
	for _, n := range []int{4097, 1 << 20} {
		req, _ := http.NewRequest("POST", srv.URL+"/rpc", bytes.NewReader([]byte(pad(n))))
		req.Header.Set("Authorization", "Bearer "+read)
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 413 {
			t.Fatalf("%d bytes over the wire: %d", n, res.StatusCode)
		}
	}
}

// TestRequireMCPOtherRequests: without a token, a 401 naming the scopes
// every request needs, its body unread; other methods than POST need those
// scopes alone.
func TestRequireMCPOtherRequests(t *testing.T) {
	a := newMCPApp(t, notesTools)
	rec := a.post(t, "", call("add_note"))
	if rec.Code != 401 || !strings.Contains(rec.Header().Get("WWW-Authenticate"), `scope="notes:read"`) {
		t.Fatalf("%d %v", rec.Code, rec.Header())
	}
	read, none := a.token(t, "notes:read"), a.token(t, "profile")
	for _, tt := range []struct {
		method, token string
		status        int
	}{{"GET", read, 200}, {"DELETE", read, 200}, {"GET", none, 403}} {
		r := req(tt.method, "/rpc", "bearer:"+tt.token)
		if rec := a.do(r); rec.Code != tt.status {
			t.Fatalf("%s: %d %s", tt.method, rec.Code, rec.Body)
		}
	}
	r := req("OPTIONS", "/rpc", "header:Origin:https://a.example", "header:Access-Control-Request-Method:POST")
	if rec := a.do(r); rec.Code != http.StatusNoContent || a.served.Load() != 2 {
		t.Fatalf("a preflight: %d, served %d", rec.Code, a.served.Load())
	}
}

// TestRequireMCPConfig: what could not work is refused at construction.
func TestRequireMCPConfig(t *testing.T) {
	a := newAgentApp(t)
	for name, cfg := range map[string]middleware.MCP{
		"negative bound":          {MaxBodyBytes: -1},
		"tools/call in Methods":   {Methods: map[string][]string{"tools/call": nil}},
		"resources/read":          {Methods: map[string][]string{"resources/read": nil}},
		"an empty tool":           {Tools: map[string][]string{"": nil}},
		"an empty scope":          {Scopes: []string{""}},
		"a scope with a quote":    {Tools: map[string][]string{"a": {`x"y`}}},
		"a scope with a space":    {Prompts: map[string][]string{"a": {"x y"}}},
		"an empty resource scope": {Resources: map[string][]string{"a://b": {""}}},
	} {
		if _, err := a.res.RequireMCP(cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := a.res.RequireMCP(middleware.MCP{}); err != nil {
		t.Fatalf("the zero MCP: %v", err)
	}
}

// TestRequireMCPSlowBody: over a real connection, a body that trickles in
// past MCP.BodyTimeout is refused with 408 and the connection closed,
// without the server being called; one that arrives in time, if slowly,
// goes through, and its response is not cut by the deadline once the
// body is read.
func TestRequireMCPSlowBody(t *testing.T) {
	cfg := notesTools
	cfg.BodyTimeout = 300 * time.Millisecond
	a := newMCPApp(t, cfg)
	srv := httptest.NewServer(a.h)
	t.Cleanup(srv.Close)
	read := a.token(t, "notes:read")
	body := call("list_notes")
	for _, tt := range []struct {
		name   string
		chunks int           // the body is sent in this many chunks
		gap    time.Duration // with this pause before each
		want   int
	}{
		{"at once", 1, 0, http.StatusOK},
		{"in time, slowly", 3, 20 * time.Millisecond, http.StatusOK},
		{"a byte now and then", len(body), 50 * time.Millisecond, http.StatusRequestTimeout},
	} {
		t.Run(tt.name, func(t *testing.T) {
			served := a.served.Load()
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
			fmt.Fprintf(conn, "POST /rpc HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", read, len(body))
			size := (len(body) + tt.chunks - 1) / tt.chunks
			for rest := body; rest != ""; {
				time.Sleep(tt.gap)
				n := min(size, len(rest))
				if _, err := io.WriteString(conn, rest[:n]); err != nil {
					break // the server gave up and closed: what is asserted below
				}
				rest = rest[n:]
			}
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tt.want {
				t.Fatalf("status %d, want %d", res.StatusCode, tt.want)
			}
			if called := a.served.Load() != served; called != (tt.want == http.StatusOK) {
				t.Fatalf("the server called: %v, with status %d", called, res.StatusCode)
			}
			if tt.want != http.StatusOK && !res.Close {
				t.Fatal("the connection of a refused slow body is kept open")
			}
		})
	}

	// Once the body is read, the deadline is lifted: an answer that takes
	// longer than BodyTimeout (a streamed one) is neither cut nor
	// cancelled.
	guard, err := a.res.RequireMCP(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.h.(*http.ServeMux).Handle("/long", guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		select {
		case <-time.After(3 * cfg.BodyTimeout):
			_, _ = io.WriteString(w, "done")
		case <-r.Context().Done():
			http.Error(w, "cancelled", http.StatusServiceUnavailable)
		}
	})))
	req, _ := http.NewRequest("POST", srv.URL+"/long", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+read)
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatalf("a long answer after the body was read: %v", err)
	}
	got, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || string(got) != "done" {
		t.Fatalf("a long answer after the body was read: %d %s", res.StatusCode, got)
	}
}
