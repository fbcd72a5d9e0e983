package middleware

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/internal/mcpwire"
)

// MCP says what each request to an MCP server needs of its access token:
// the scopes of every request, and those of each tool, prompt, resource and
// method. See Resource.RequireMCP.
//
// What is not listed is refused: a tool, prompt, resource or method the MCP
// server has but MCP does not name answers 403 mcp_not_allowed, whatever
// the token's scopes. List every one the server offers.
type MCP struct {
	// Scopes are what every request needs, whatever it asks: the scope
	// that lets a client use the server at all ("documents:read"). A 401
	// names them, so that a client asks for them first. Empty: any access
	// token of the resource.
	Scopes []string
	// Tools are the tools a tools/call may call, by name, each with the
	// scopes it needs beyond Scopes (nil: none beyond).
	Tools map[string][]string
	// Prompts are the prompts a prompts/get may get, by name, likewise.
	Prompts map[string][]string
	// Resources are the resources resources/read, resources/subscribe and
	// resources/unsubscribe may name, by exact URI, likewise. A URI that a
	// resource template would match is not matched: list each.
	Resources map[string][]string
	// Methods are the other JSON-RPC methods let through, each with the
	// scopes it needs beyond Scopes. Unlisted, these need Scopes alone, as
	// they name nothing a scope could guard: initialize, ping,
	// logging/setLevel, server/discover, the notifications
	// notifications/initialized, notifications/cancelled,
	// notifications/progress and notifications/roots/list_changed, and
	// tools/list, prompts/list, resources/list and resources/templates/list;
	// so do the client's responses to the server's own requests. Any other
	// method (completion/complete, subscriptions/listen, a custom one) is
	// refused unless listed. tools/call, prompts/get and the resources/
	// methods that name a URI are decided by Tools, Prompts and Resources:
	// naming them here is an error.
	Methods map[string][]string
	// MaxBodyBytes bounds a request's body: past it the request is refused
	// with 413 before anything is decided, while it is read. Zero means
	// DefaultMCPMaxBodyBytes.
	MaxBodyBytes int64
	// BodyTimeout bounds the time to read a request's body, from the
	// guard's first read: past it the request is refused with 408 and its
	// connection closed, so that a client sending a byte now and then
	// holds nothing for long. Zero means DefaultMCPBodyTimeout. The bound
	// is the connection's read deadline (http.ResponseController), lifted
	// once the body is read: a response streamed for minutes is not cut.
	BodyTimeout time.Duration
}

// DefaultMCPMaxBodyBytes is MCP.MaxBodyBytes' default: 1 MiB.
const DefaultMCPMaxBodyBytes = 1 << 20

// DefaultMCPBodyTimeout is MCP.BodyTimeout's default: 10 s.
const DefaultMCPBodyTimeout = 10 * time.Second

// mcpOpen are the methods that need MCP.Scopes alone unless MCP.Methods
// says more: they name no tool, prompt or resource.
var mcpOpen = []string{
	"initialize", "ping", "logging/setLevel", "server/discover",
	"notifications/initialized", "notifications/cancelled", "notifications/progress", "notifications/roots/list_changed",
	"tools/list", "prompts/list", "resources/list", "resources/templates/list",
}

// mcpNamed are the methods whose target decides their scopes, and the
// MCP field that lists the targets.
var mcpNamed = map[string]string{
	"tools/call": "Tools", "prompts/get": "Prompts",
	"resources/read": "Resources", "resources/subscribe": "Resources", "resources/unsubscribe": "Resources",
}

// mcpGuard is a Resource's MCP guard: every list of scopes is the whole of
// what a request needs, MCP.Scopes first, built once.
type mcpGuard struct {
	r                         *Resource
	base                      []string
	tools, prompts, resources map[string][]string
	methods                   map[string][]string
	max                       int64
	bodyTimeout               time.Duration
	// bodies are the *mcpBody that requests' bodies are read into and
	// given back from, reused once the request they held is answered.
	bodies sync.Pool
}

// RequireMCP returns a guard for an MCP server's endpoint (the Streamable
// HTTP transport, behind which the MCP SDK's handler runs): it takes the
// access tokens Require takes, and decides each request's scopes from what
// the request asks, read from its JSON-RPC body as the MCP Go SDK reads it.
// cfg is checked here, once.
//
// The body of a POST is read whole, at most MCP.MaxBodyBytes (413 past it,
// before anything is decided), and given back intact to next. It must be
// one JSON-RPC message, or a batch of them, read strictly (400 otherwise,
// error_type invalid_request):
//   - valid JSON (UTF-8, nothing after the value, nested at most 1,000
//     deep), each message with "jsonrpc": "2.0";
//   - keys matched case-sensitively, as the MCP SDK matches them; a key of
//     the message (jsonrpc, id, method, params, result, error) or of the
//     params of tools/call, prompts/get and the resources/ methods that
//     name a URI (name, uri, arguments, _meta, inputResponses,
//     requestState) may come once, and no other key may differ from one of
//     them only in letter case ("Name", or "paramſ", which encoding/json
//     would take for "params"), escapes decoded first;
//   - the Mcp-Method and Mcp-Name headers of the MCP 2026-07-28 transport,
//     when present, agree with the body (Mcp-Name decoded from its
//     "=?base64?...?=" form), and come once;
//   - a batch (JSON-RPC's array, which MCP dropped in 2025-06-18 and the
//     MCP Go SDK still takes from older clients) is refused when
//     MCP-Protocol-Version says 2025-06-18 or later, or with Mcp-Method or
//     Mcp-Name; otherwise it needs what all its messages need.
//
// A request for a tool, prompt, resource or method cfg does not list is
// refused with 403 mcp_not_allowed. One whose token lacks a scope is
// refused with one 403 insufficient_scope whose challenge (RFC 6750's
// scope=) names every scope the request needs, held or not, so that a
// client steps up once. Scopes are compared by name, as Require compares
// them: the middleware holds no RBAC policy, so a scope whose permissions
// include another's does not stand for it here (Stytch puts in a token
// the scopes the person granted). Other methods than POST (the GET of the
// server's event stream, the DELETE that ends a session) need MCP.Scopes.
// Everything else is as Require: 401s name MCP.Scopes.
func (r *Resource) RequireMCP(cfg MCP) (func(http.Handler) http.Handler, error) {
	g, err := r.newMCPGuard(cfg)
	if err != nil {
		return nil, err
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { g.serve(w, req, next) })
	}, nil
}

func (r *Resource) newMCPGuard(cfg MCP) (*mcpGuard, error) {
	if cfg.MaxBodyBytes < 0 {
		return nil, fmt.Errorf("middleware: MCP.MaxBodyBytes: %d is negative", cfg.MaxBodyBytes)
	}
	if cfg.BodyTimeout < 0 {
		return nil, fmt.Errorf("middleware: MCP.BodyTimeout: %v is negative", cfg.BodyTimeout)
	}
	for _, s := range cfg.Scopes {
		if err := checkScope(s); err != nil {
			return nil, fmt.Errorf("middleware: MCP.Scopes: %w", err)
		}
	}
	g := &mcpGuard{r: r, base: dedupe(nil, cfg.Scopes), max: cfg.MaxBodyBytes, methods: map[string][]string{}}
	g.bodies.New = func() any { return &mcpBody{buf: make([]byte, 0, 1024)} }
	if g.max == 0 {
		g.max = DefaultMCPMaxBodyBytes
	}
	if g.bodyTimeout = cfg.BodyTimeout; g.bodyTimeout == 0 {
		g.bodyTimeout = DefaultMCPBodyTimeout
	}
	var err error
	if g.tools, err = g.compile("Tools", cfg.Tools); err != nil {
		return nil, err
	}
	if g.prompts, err = g.compile("Prompts", cfg.Prompts); err != nil {
		return nil, err
	}
	if g.resources, err = g.compile("Resources", cfg.Resources); err != nil {
		return nil, err
	}
	for _, m := range mcpOpen {
		g.methods[m] = g.base
	}
	for m := range cfg.Methods {
		if field, ok := mcpNamed[m]; ok {
			return nil, fmt.Errorf("middleware: MCP.Methods: %q is decided by MCP.%s, by what it names", m, field)
		}
	}
	extra, err := g.compile("Methods", cfg.Methods)
	if err != nil {
		return nil, err
	}
	for m, s := range extra {
		g.methods[m] = s
	}
	return g, nil
}

// compile turns one of MCP's maps into the whole of what each entry needs.
func (g *mcpGuard) compile(field string, in map[string][]string) (map[string][]string, error) {
	out := make(map[string][]string, len(in))
	for name, scopes := range in {
		if name == "" {
			return nil, fmt.Errorf("middleware: MCP.%s: an empty name", field)
		}
		for _, s := range scopes {
			if err := checkScope(s); err != nil {
				return nil, fmt.Errorf("middleware: MCP.%s[%q]: %w", field, name, err)
			}
		}
		out[name] = dedupe(slices.Clone(g.base), scopes)
	}
	return out, nil
}

// checkScope refuses what could not be a scope (RFC 6749 3.3's scope-token)
// and would break the challenge's quoting.
func checkScope(s string) error {
	if s == "" {
		return errors.New("an empty scope")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			return fmt.Errorf("%q is not a scope token", s)
		}
	}
	return nil
}

// dedupe appends to dst each of add not in it yet.
func dedupe(dst, add []string) []string {
	for _, s := range add {
		if !slices.Contains(dst, s) {
			dst = append(dst, s)
		}
	}
	return dst
}

func (g *mcpGuard) serve(w http.ResponseWriter, req *http.Request, next http.Handler) {
	m := g.r.m
	if m.preflight(w, req, next) {
		return
	}
	// The token first: a request without one learns where to get one
	// (401), and its body is never read.
	var local auth
	a, e := g.r.resolve(req, nil, &local)
	var body *mcpBody
	if e == nil {
		body, e = g.decide(w, req, a.access)
	} else if e.Status == http.StatusUnauthorized && len(g.base) > 0 {
		c := *e
		c.Scopes = g.base
		e = &c
	}
	if m.cfg.Hooks.Decided != nil {
		if e != nil {
			a = nil
		}
		m.decided(req.Context(), time.Time{}, a, e)
	}
	if e != nil {
		m.refuse(w, req, e)
		return
	}
	req = req.WithContext(m.context(req.Context(), a))
	if body == nil {
		next.ServeHTTP(w, req)
		return
	}
	body.orig = req.Body
	body.Reader.Reset(body.buf)
	req.Body, req.ContentLength = body, int64(len(body.buf))
	next.ServeHTTP(w, req)
	g.release(body)
}

// mcpBody is a request's body, read whole, and the reader that gives it
// back to the next handler; Close closes the request's own.
type mcpBody struct {
	buf []byte
	bytes.Reader
	orig io.ReadCloser
}

// Close closes the request's own body.
func (b *mcpBody) Close() error { return b.orig.Close() }

// pooledBody is the largest body buffer kept for reuse.
const pooledBody = 16 << 10

// release returns b to the pool, unless its buffer grew past pooledBody. A
// reader of the body after ServeHTTP returned (which net/http forbids)
// reads nothing, never another request's body.
func (g *mcpGuard) release(b *mcpBody) {
	b.Reader.Reset(nil)
	b.orig = nil
	if cap(b.buf) <= pooledBody {
		b.buf = b.buf[:0]
		g.bodies.Put(b)
	}
}

// decide reads the request and returns its body (from g.bodies), or why
// it is refused.
func (g *mcpGuard) decide(w http.ResponseWriter, req *http.Request, at *stytchguard.AccessTokenAuth) (*mcpBody, *stytchguard.Refusal) {
	if req.Method != http.MethodPost {
		return nil, g.check(at, g.base)
	}
	body, e := g.read(w, req)
	if e == nil {
		e = g.judge(req.Header, body.buf, at)
	}
	if e != nil {
		if body != nil {
			g.release(body)
		}
		return nil, e
	}
	return body, nil
}

// judge decides from the body and the headers.
func (g *mcpGuard) judge(h http.Header, body []byte, at *stytchguard.AccessTokenAuth) *stytchguard.Refusal {
	var one [1]mcpwire.Message
	msgs, batch, err := mcpwire.Read(body, one[:0])
	if err != nil {
		return g.invalid("the body is not one JSON-RPC message, or a batch of them, read strictly", err)
	}
	if e := g.headers(h, msgs, batch); e != nil {
		return e
	}
	needed, e := g.needs(msgs)
	if e != nil {
		return e
	}
	return g.check(at, needed)
}

// read reads the body whole, refusing it (413) once it holds more than
// g.max bytes, or at once when Content-Length says so, and (408) when it
// has not all come within g.bodyTimeout.
func (g *mcpGuard) read(w http.ResponseWriter, req *http.Request) (*mcpBody, *stytchguard.Refusal) {
	if req.ContentLength > g.max {
		return nil, g.tooLarge(w)
	}
	if req.Body == nil || req.Body == http.NoBody {
		return nil, g.invalid("the body is empty", nil)
	}
	// A writer that cannot set a deadline, itself or through the writers
	// it wraps (a recorder, a framework's own), leaves the bound to the
	// server's ReadTimeout; it is not asked, which would cost an error.
	if deadlined(w) {
		rc := http.NewResponseController(w)
		if rc.SetReadDeadline(time.Now().Add(g.bodyTimeout)) == nil {
			defer func() { _ = rc.SetReadDeadline(time.Time{}) }()
		}
	}
	bp := g.bodies.Get().(*mcpBody)
	buf := bp.buf
	if req.ContentLength >= int64(cap(buf)) {
		buf = make([]byte, 0, req.ContentLength+1) // room to see the end without growing
	}
	for empty := 0; ; {
		if len(buf) == cap(buf) {
			buf = slices.Grow(buf, len(buf))
		}
		room := buf[len(buf):min(cap(buf), int(g.max)+1)]
		n, err := req.Body.Read(room)
		buf = buf[:len(buf)+n]
		bp.buf = buf
		if n == 0 && err == nil {
			if empty++; empty == 100 {
				err = io.ErrNoProgress
			}
		}
		switch {
		case int64(len(buf)) > g.max:
			g.release(bp)
			return nil, g.tooLarge(w)
		case err == io.EOF:
			return bp, nil
		case err != nil:
			g.release(bp)
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, g.tooLarge(w)
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				w.Header().Set("Connection", "close")
				return nil, &stytchguard.Refusal{Status: http.StatusRequestTimeout, Code: stytchguard.CodeInvalidRequest, TokenPresented: true,
					Message: "the request body did not arrive within " + g.bodyTimeout.String()}
			}
			return nil, g.invalid("the body could not be read", err)
		}
	}
}

// deadlined reports whether w may set a read deadline: net/http's own
// writer, or one that wraps another (http.ResponseController's Unwrap).
func deadlined(w http.ResponseWriter) bool {
	switch w.(type) {
	case interface{ SetReadDeadline(time.Time) error }, interface{ Unwrap() http.ResponseWriter }:
		return true
	}
	return false
}

func (g *mcpGuard) tooLarge(w http.ResponseWriter) *stytchguard.Refusal {
	w.Header().Set("Connection", "close") // the rest of the body is not read
	return &stytchguard.Refusal{Status: http.StatusRequestEntityTooLarge, Code: stytchguard.CodeRequestTooLarge, TokenPresented: true,
		Message: "the request body is larger than " + strconv.FormatInt(g.max, 10) + " bytes"}
}

func (g *mcpGuard) invalid(msg string, err error) *stytchguard.Refusal {
	e := &stytchguard.Refusal{Status: http.StatusBadRequest, Code: stytchguard.CodeInvalidRequest, Message: msg, TokenPresented: true, Err: err}
	if err != nil {
		e.Diagnosis = err.Error()
	}
	return e
}

// The MCP 2026-07-28 transport's headers, and the form Mcp-Name takes when
// its value is not plain ASCII.
const (
	hdrMethod    = "Mcp-Method"
	hdrName      = "Mcp-Name"
	hdrVersion   = "Mcp-Protocol-Version"
	base64Prefix = "=?base64?"
	base64Suffix = "?="
)

// headers checks the request's MCP headers against what the body asks.
func (g *mcpGuard) headers(h http.Header, msgs []mcpwire.Message, batch bool) *stytchguard.Refusal {
	method, name := h[hdrMethod], h[hdrName]
	if batch {
		if v := h.Get(hdrVersion); v >= "2025-06-18" {
			return g.invalid("JSON-RPC batches are not part of MCP from 2025-06-18 on (MCP-Protocol-Version: "+headerSafe(v)+")", nil)
		}
		if method != nil || name != nil {
			return g.invalid("Mcp-Method and Mcp-Name name one message, and a batch came", nil)
		}
		return nil
	}
	if method == nil && name == nil {
		return nil
	}
	if len(method) > 1 || len(name) > 1 {
		return g.invalid("Mcp-Method or Mcp-Name came more than once", nil)
	}
	msg := msgs[0]
	if method != nil && (!msg.HasMethod || method[0] != string(msg.Method)) {
		return g.invalid("the Mcp-Method header does not match the body's method", nil)
	}
	if name != nil {
		v := name[0]
		if s, ok := strings.CutPrefix(v, base64Prefix); ok {
			if s, ok = strings.CutSuffix(s, base64Suffix); ok {
				d, err := base64.StdEncoding.DecodeString(s)
				if err != nil {
					return g.invalid("the Mcp-Name header is not valid base64", err)
				}
				v = string(d)
			}
		}
		if !msg.HasTarget || v != string(msg.Target) {
			return g.invalid("the Mcp-Name header does not match the body's params.name or params.uri", nil)
		}
	}
	return nil
}

// needs is the whole of what msgs need, or why they are refused.
func (g *mcpGuard) needs(msgs []mcpwire.Message) ([]string, *stytchguard.Refusal) {
	if len(msgs) == 1 {
		return g.one(msgs[0])
	}
	all := slices.Clone(g.base)
	for _, m := range msgs {
		s, e := g.one(m)
		if e != nil {
			return nil, e
		}
		all = dedupe(all, s)
	}
	return all, nil
}

func (g *mcpGuard) one(m mcpwire.Message) ([]string, *stytchguard.Refusal) {
	if !m.HasMethod {
		return g.base, nil // a response to the server's request
	}
	var listed map[string][]string
	what := ""
	switch string(m.Method) {
	case "tools/call":
		listed, what = g.tools, "tool"
	case "prompts/get":
		listed, what = g.prompts, "prompt"
	case "resources/read", "resources/subscribe", "resources/unsubscribe":
		listed, what = g.resources, "resource"
	default:
		if s, ok := g.methods[string(m.Method)]; ok {
			return s, nil
		}
		return nil, g.notAllowed("a method this resource does not take", fmt.Sprintf("method %.64q is not in MCP.Methods", m.Method))
	}
	if s, ok := listed[string(m.Target)]; ok && m.HasTarget {
		return s, nil
	}
	return nil, g.notAllowed(string(m.Method)+" of a "+what+" this resource does not take",
		fmt.Sprintf("%s %.64q is not listed in MCP", what, m.Target))
}

func (g *mcpGuard) notAllowed(msg, why string) *stytchguard.Refusal {
	return &stytchguard.Refusal{Status: http.StatusForbidden, Code: stytchguard.CodeMCPNotAllowed, Message: msg, TokenPresented: true, Diagnosis: why}
}

// check lets at through when it holds every one of needed, or refuses it
// with a challenge naming them all.
func (g *mcpGuard) check(at *stytchguard.AccessTokenAuth, needed []string) *stytchguard.Refusal {
	if at.HasScopes(needed...) {
		return nil
	}
	var missing []string
	for _, s := range needed {
		if !slices.Contains(at.Scopes, s) {
			missing = append(missing, s)
		}
	}
	return &stytchguard.Refusal{Status: http.StatusForbidden, Code: stytchguard.CodeInsufficientScope, TokenPresented: true,
		Message: "the access token lacks scope " + strings.Join(missing, " and "), Scopes: needed, ResourceMetadata: g.r.metadataURL,
		Diagnosis: "the token of client " + at.ClientID + " grants " + strings.Join(at.Scopes, " ")}
}

// headerSafe keeps s to printable ASCII and 64 bytes, to quote a header.
func headerSafe(s string) string {
	b := make([]byte, 0, min(len(s), 64))
	for i := 0; i < len(s) && len(b) < 64; i++ {
		if c := s[i]; c >= 0x20 && c < 0x7f {
			b = append(b, c)
		}
	}
	return string(b)
}
