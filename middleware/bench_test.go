package middleware_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/internal/memstore"

	"github.com/golang-jwt/jwt/v5"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/jwtlocal"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// BenchmarkMiddleware runs full requests, a JWT cookie each, through Require
// into a handler that does nothing: the same token again (cached-jwt), and a
// token the process has not seen (first-seen-jwt).
func BenchmarkMiddleware(b *testing.B) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	u := srv.CreateUser(stytchtest.UserParams{Email: "ada@example.com", Roles: []string{"editor"}})
	tok, err := srv.StartSession(u.UserID, stytchtest.SessionParams{})
	if err != nil {
		b.Fatal(err)
	}
	const pool, cacheSize = 1024, 512
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok.SessionJWT, claims); err != nil {
		b.Fatal(err)
	}
	tokens := make([]string, pool)
	for i := range tokens {
		claims["n"] = i
		if tokens[i], err = srv.Sign(claims); err != nil {
			b.Fatal(err)
		}
	}
	noop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	run := func(b *testing.B, cacheSize int, token func(i int) string) {
		v, err := jwtlocal.New(jwtlocal.Config{Client: srv.Client(), CacheSize: cacheSize})
		if err != nil {
			b.Fatal(err)
		}
		defer v.Close()
		mw, err := middleware.New(middleware.Config{Client: srv.Client(), Verifier: v})
		if err != nil {
			b.Fatal(err)
		}
		h := mw.Require(noop)
		reqs := make([]*http.Request, pool)
		for i := range reqs {
			reqs[i] = httptest.NewRequest("GET", "/", nil)
			reqs[i].AddCookie(&http.Cookie{Name: "stytch_session_jwt", Value: token(i)})
		}
		w := httptest.NewRecorder()
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			h.ServeHTTP(w, reqs[i%pool])
		}
		if w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
	}
	b.Run("cached-jwt", func(b *testing.B) { run(b, 0, func(int) string { return tokens[0] }) })
	b.Run("first-seen-jwt", func(b *testing.B) { run(b, cacheSize, func(i int) string { return tokens[i] }) })
}

// BenchmarkAccessToken runs full requests with a Bearer token seen before:
// a session JWT through Require (session-jwt), and a Connected Apps access
// token requested for the resource through its Require with a scope, the
// resource bound to its URL (access-token). The target is access-token
// within 1.2× session-jwt.
func BenchmarkAccessToken(b *testing.B) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	u := srv.CreateUser(stytchtest.UserParams{Email: "ada@example.com", Roles: []string{"editor"}})
	tok, err := srv.StartSession(u.UserID, stytchtest.SessionParams{})
	if err != nil {
		b.Fatal(err)
	}
	app, err := srv.RegisterConnectedApp("agent", false, "http://127.0.0.1:9/cb")
	if err != nil {
		b.Fatal(err)
	}
	access, err := srv.IssueConnectedAppTokenWith(stytchtest.ConnectedAppTokenParams{SubjectID: u.UserID, ClientID: app.ClientID,
		Scopes: []string{"documents:read", "documents:write"}, Resources: []string{"https://api.example.com/mcp"}})
	if err != nil {
		b.Fatal(err)
	}
	mw, err := middleware.New(middleware.Config{Client: srv.Client()})
	if err != nil {
		b.Fatal(err)
	}
	defer mw.Close()
	res, err := mw.Resource(middleware.ProtectedResource{URL: "https://api.example.com/mcp", Audiences: []string{"https://api.example.com/mcp"}})
	if err != nil {
		b.Fatal(err)
	}
	noop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	for _, bb := range []struct {
		name, token string
		h           http.Handler
	}{
		{"session-jwt", tok.SessionJWT, mw.Require(noop)},
		{"access-token", access, res.Require("documents:read")(noop)},
	} {
		b.Run(bb.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", "/mcp", nil)
			r.Header.Set("Authorization", "Bearer "+bb.token)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				bb.h.ServeHTTP(w, r)
			}
			if w.Code != 200 {
				b.Fatalf("status %d", w.Code)
			}
		})
	}
}

// BenchmarkRequireMCP runs the same MCP request, a tools/call of
// add_document with a small argument and a Connected Apps access token
// seen before, through a protected resource's Require with the tool's
// scopes (require: the body is not read), through Require after reading
// the body and decoding it with encoding/json into a struct, as
// examples/mcp did before RequireMCP (require-json), and through
// RequireMCP, which reads the body and decides the tool's scopes from it
// (require-mcp). The same again behind a handler that reads the whole
// body, as an MCP server does (require/server, require-mcp/server). The
// target is require-mcp within 1.3x require.
func BenchmarkRequireMCP(b *testing.B) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	u := srv.CreateUser(stytchtest.UserParams{Email: "ada@example.com", Roles: []string{"editor"}})
	app, err := srv.RegisterConnectedApp("agent", false, "http://127.0.0.1:9/cb")
	if err != nil {
		b.Fatal(err)
	}
	access, err := srv.IssueConnectedAppToken(u.UserID, app.ClientID, "documents:read", "documents:write")
	if err != nil {
		b.Fatal(err)
	}
	mw, err := middleware.New(middleware.Config{Client: srv.Client()})
	if err != nil {
		b.Fatal(err)
	}
	defer mw.Close()
	res, err := mw.Resource(middleware.ProtectedResource{URL: "https://api.example.com/mcp"})
	if err != nil {
		b.Fatal(err)
	}
	guard, err := res.RequireMCP(middleware.MCP{
		Scopes: []string{"documents:read"},
		Tools:  map[string][]string{"list_documents": nil, "add_document": {"documents:write"}},
	})
	if err != nil {
		b.Fatal(err)
	}
	const call = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"add_document","arguments":{"title":"Minutes of the 3 May meeting"}}}`
	noop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	// An MCP server reads the whole body first (the MCP Go SDK's
	// Streamable HTTP handler: io.ReadAll), whatever guards it.
	server := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		if body, err := io.ReadAll(r.Body); err != nil || len(body) != len(call) {
			panic("the body did not arrive whole")
		}
	})
	for _, bb := range []struct {
		name string
		h    http.Handler
	}{
		{"require", res.Require("documents:read", "documents:write")(noop)},
		{"require-json", decodeFirst(res.Require("documents:read", "documents:write")(noop))},
		{"require-mcp", guard(noop)},
		{"require/server", res.Require("documents:read", "documents:write")(server)},
		{"require-mcp/server", guard(server)},
	} {
		b.Run(bb.name, func(b *testing.B) {
			body := &rewind{}
			r := httptest.NewRequest("POST", "/mcp", nil)
			r.Header.Set("Authorization", "Bearer "+access)
			r.Header.Set("Content-Type", "application/json")
			r.Body, r.ContentLength = body, int64(len(call))
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				body.Reset(call)
				bb.h.ServeHTTP(w, r)
			}
			if w.Code != 200 {
				b.Fatalf("status %d", w.Code)
			}
		})
	}
}

// decodeFirst reads the body and decodes it with encoding/json, then
// gives it back, as examples/mcp's toolCalled did.
func decodeFirst(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		orig := r.Body
		defer func() { r.Body = orig }() // the benchmark sends r again
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), r.Body))
		var call struct {
			Method string `json:"method"`
			Params struct {
				Name string `json:"name"`
			} `json:"params"`
		}
		if err != nil || json.Unmarshal(body, &call) != nil || call.Params.Name != "add_document" {
			http.Error(w, "not add_document", http.StatusBadRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// rewind is a request body a benchmark reads again each time.
type rewind struct{ strings.Reader }

func (*rewind) Close() error { return nil }

// BenchmarkRevocationList measures the in-memory list's two operations on a
// full default-sized list: IsRevoked, asked on every request, and Revoke
// past the bound, which evicts in expiry order. It reports the heap a full
// list holds (bytes/entry).
func BenchmarkRevocationList(b *testing.B) {
	ctx := context.Background()
	now := time.Now()
	clock := func() time.Time { return now }
	fill := func() *memstore.List {
		l := memstore.NewList(memstore.Config{Now: clock})
		for i := range memstore.DefaultListSize {
			_ = l.Revoke(ctx, sessionID(i), now.Add(time.Duration(i)*time.Millisecond+time.Minute))
		}
		return l
	}
	b.Run("memory", func(b *testing.B) {
		var before, after runtime.MemStats
		var l *memstore.List
		for b.Loop() {
			runtime.GC()
			runtime.ReadMemStats(&before)
			l = fill()
			runtime.GC()
			runtime.ReadMemStats(&after)
		}
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/float64(l.Len()), "bytes/entry")
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MiB/full-list")
	})
	l := fill()
	ids := make([]string, 4096)
	for i := range ids {
		ids[i] = sessionID(i * 17)
	}
	b.Run("is-revoked", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			l.IsRevoked(ctx, ids[i%len(ids)])
		}
	})
	b.Run("revoke-full", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			_ = l.Revoke(ctx, sessionID(memstore.DefaultListSize+i), now.Add(time.Hour))
		}
	})
}

// sessionID is a Stytch-shaped session id, as long as a real one.
func sessionID(i int) string {
	return fmt.Sprintf("session-live-%08x-0000-4000-8000-000000000000", i)
}

// BenchmarkClaims runs a request with a JWT seen before through Require
// into a handler that reads typed custom claims with stytchguard.Claims: with
// Config.Claims set (decoded once, with the verified token) and without
// (decoded on every call). cached-m2m is the same request with an M2M
// access token through RequireMachine.
func BenchmarkClaims(b *testing.B) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	u := srv.CreateUser(stytchtest.UserParams{Email: "ada@example.com"})
	tok, err := srv.StartSession(u.UserID, stytchtest.SessionParams{CustomClaims: map[string]any{"plan": "team", "seats": 12, "region": "eu-west-1"}})
	if err != nil {
		b.Fatal(err)
	}
	type appClaims struct {
		Plan   string `json:"plan"`
		Seats  int    `json:"seats"`
		Region string `json:"region"`
	}
	read := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := stytchguard.Claims[appClaims](r.Context()); err != nil || c.Seats != 12 {
			w.WriteHeader(500)
		}
	})
	run := func(b *testing.B, decoder stytchguard.ClaimsDecoder, guard func(*middleware.Middleware) func(http.Handler) http.Handler, r *http.Request) {
		mw, err := middleware.New(middleware.Config{Client: srv.Client(), Claims: decoder})
		if err != nil {
			b.Fatal(err)
		}
		defer mw.Close()
		h := guard(mw)(read)
		w := httptest.NewRecorder()
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(w, r)
		}
		if w.Code != 200 {
			b.Fatalf("status %d", w.Code)
		}
	}
	cookie := httptest.NewRequest("GET", "/", nil)
	cookie.AddCookie(&http.Cookie{Name: "stytch_session_jwt", Value: tok.SessionJWT})
	require := func(m *middleware.Middleware) func(http.Handler) http.Handler { return m.Require }
	b.Run("configured", func(b *testing.B) { run(b, stytchguard.ClaimsOf[appClaims](), require, cookie) })
	b.Run("per-call", func(b *testing.B) { run(b, nil, require, cookie) })

	if err := srv.SetM2MClaimsTemplate(map[string]any{"plan": "team", "seats": 12, "region": "eu-west-1"}); err != nil {
		b.Fatal(err)
	}
	mc, err := srv.CreateM2MClient(stytchtest.M2MClientParams{Scopes: []string{"read:reports"}})
	if err != nil {
		b.Fatal(err)
	}
	access, err := srv.IssueM2MToken(mc.ClientID)
	if err != nil {
		b.Fatal(err)
	}
	bearer := httptest.NewRequest("GET", "/", nil)
	bearer.Header.Set("Authorization", "Bearer "+access)
	b.Run("cached-m2m", func(b *testing.B) {
		run(b, stytchguard.ClaimsOf[appClaims](), func(m *middleware.Middleware) func(http.Handler) http.Handler {
			return m.RequireMachine("read:reports")
		}, bearer)
	})
}

// BenchmarkRemoteCacheMemory reports the heap one remembered answer from
// Stytch holds in the in-memory RemoteCache: n people, each with an opaque
// session token, each asked about once through Require. An entry is
// Stytch's answer decoded (the session and the whole user), the digest it
// is keyed by, and the LRU's bookkeeping; never the token itself.
func BenchmarkRemoteCacheMemory(b *testing.B) {
	srv := stytchtest.NewServer()
	defer srv.Close()
	const n = 500
	reqs := make([]*http.Request, n)
	for i := range reqs {
		u := srv.CreateUser(stytchtest.UserParams{Email: fmt.Sprintf("person-%d@example.com", i), Roles: []string{"editor"}})
		tok, err := srv.StartSession(u.UserID, stytchtest.SessionParams{})
		if err != nil {
			b.Fatal(err)
		}
		reqs[i] = httptest.NewRequest("GET", "/", nil)
		reqs[i].AddCookie(&http.Cookie{Name: "stytch_session", Value: tok.SessionToken})
	}
	noop := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	for b.Loop() {
		mw, err := middleware.New(middleware.Config{
			Client:   srv.Client(),
			Upstream: middleware.Upstream{Rate: -1},
			Stores:   middleware.Stores{RemoteCache: middleware.NewRemoteCache(0, nil)},
		}) // n asks at once: not a flood
		if err != nil {
			b.Fatal(err)
		}
		h := mw.Require(noop)
		serve := func(r *http.Request) {
			// A recorder each: one would keep every answer's cookies.
			w := httptest.NewRecorder()
			if h.ServeHTTP(w, r); w.Code != 200 {
				b.Fatalf("status %d", w.Code)
			}
		}
		serve(reqs[0]) // connections, pools: not an entry's
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for _, r := range reqs[1:] {
			serve(r)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if calls := srv.Calls(stytchtest.Authenticate); calls < n {
			b.Fatalf("%d calls to Stytch for %d sessions", calls, n)
		}
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(n-1), "heap-B/entry")
		mw.Close()
	}
}
