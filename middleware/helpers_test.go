package middleware_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// app is an emulator, a middleware in front of a few routes, and a record
// of every log line the middleware wrote.
type app struct {
	srv  *stytchtest.Server
	mw   *middleware.Middleware
	h    http.Handler
	logs *syncBuffer

	mu      sync.Mutex
	secrets []string
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// whoami answers with what the middleware put in the context.
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	out := map[string]any{"anonymous": true}
	if a, ok := stytchguard.ConsumerFromContext(r.Context()); ok {
		out = map[string]any{"user_id": a.Session.UserID, "session_id": a.Session.SessionID, "source": a.Source.String(), "has_user": a.User != nil}
	}
	if a, ok := stytchguard.MemberFromContext(r.Context()); ok {
		out = map[string]any{"member_id": a.Session.MemberID, "session_id": a.Session.MemberSessionID, "source": a.Source.String(), "organization_id": a.Session.OrganizationID}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
})

func newApp(t testing.TB, mod func(*middleware.Config)) *app {
	t.Helper()
	return newLineApp(t, false, mod)
}

// lineClient is srv's client for a consumer (b2b false) or B2B project.
func lineClient(srv *stytchtest.Server, b2b bool) *session.Client {
	if b2b {
		return srv.B2BClient()
	}
	return srv.Client()
}

// newLineApp is newApp for a consumer (b2b false) or B2B project.
func newLineApp(t testing.TB, b2b bool, mod func(*middleware.Config)) *app {
	t.Helper()
	srv := stytchtest.NewServer(stytchtest.WithFrozenClock(time.Now()))
	t.Cleanup(srv.Close)
	cfg := srv.Config()
	cfg.Retry = &session.RetryPolicy{MaxAttempts: 2, BaseDelay: 5 * time.Millisecond, MaxDelay: 50 * time.Millisecond}
	cfg.Timeout = 2 * time.Second
	cfg.B2B = b2b
	client, err := session.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return newAppWith(t, srv, client, &syncBuffer{}, mod)
}

// newAppWith is newApp on a given emulator and client, logging to logs.
func newAppWith(t testing.TB, srv *stytchtest.Server, client *session.Client, logs *syncBuffer, mod func(*middleware.Config)) *app {
	t.Helper()
	mc := middleware.Config{
		Client: client,
		Now:    srv.Now,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if mod != nil {
		mod(&mc)
	}
	mw, err := middleware.New(mc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mw.Close)
	mux := http.NewServeMux()
	mux.Handle("GET /optional", mw.Authenticate(whoami))
	mux.Handle("GET /me", mw.Require(whoami))
	mux.Handle("/logout", mw.LogoutHandler())
	mux.Handle("/logout-all", mw.LogoutAllHandler())
	mux.Handle("GET /sessions", mw.SessionsHandler())
	mux.Handle("/exchange", mw.ExchangeHandler())
	a := &app{srv: srv, mw: mw, h: mux, logs: logs}
	t.Cleanup(func() { a.noSecretsInLogs(t) })
	return a
}

// req builds a request; creds are "bearer:<v>", "jwt:<v>" (cookie),
// "token:<v>" (cookie) or "header:<name>:<v>".
func req(method, path string, creds ...string) *http.Request {
	r := httptest.NewRequest(method, path, nil)
	for _, c := range creds {
		kind, v, _ := strings.Cut(c, ":")
		switch kind {
		case "bearer":
			r.Header.Add("Authorization", "Bearer "+v)
		case "jwt":
			r.AddCookie(&http.Cookie{Name: "stytch_session_jwt", Value: v})
		case "token":
			r.AddCookie(&http.Cookie{Name: "stytch_session", Value: v})
		case "header":
			name, val, _ := strings.Cut(v, ":")
			r.Header.Add(name, val)
		}
	}
	return r
}

func (a *app) do(r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	a.h.ServeHTTP(rec, r)
	return rec
}

func body(t testing.TB, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	out := map[string]any{}
	if rec.Body.Len() == 0 {
		return out
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("body %q: %v", rec.Body, err)
	}
	return out
}

// cookies returns the Set-Cookie values by name ("" for a clearing one).
func cookies(rec *httptest.ResponseRecorder) map[string]*http.Cookie {
	out := map[string]*http.Cookie{}
	for _, c := range rec.Result().Cookies() {
		out[c.Name] = c
	}
	return out
}

// user creates a user with a session.
func (a *app) user(t testing.TB, roles ...string) (session.User, stytchtest.Tokens) {
	t.Helper()
	u := a.srv.CreateUser(stytchtest.UserParams{Email: "ada@example.com", Roles: roles})
	tok, err := a.srv.StartSession(u.UserID, stytchtest.SessionParams{})
	if err != nil {
		t.Fatal(err)
	}
	a.remember(tok)
	return u, tok
}

func (a *app) noSecretsInLogs(t testing.TB) {
	logs := a.logs.String()
	if strings.Contains(logs, a.srv.Secret()) {
		t.Errorf("the project secret reached a log line")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, s := range a.secrets {
		if len(s) > 16 && strings.Contains(logs, s) {
			t.Errorf("a credential reached a log line")
		}
	}
}

// remember marks credentials to look for in the logs.
func (a *app) remember(toks ...stytchtest.Tokens) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, t := range toks {
		a.secrets = append(a.secrets, t.SessionToken, t.SessionJWT)
	}
}

// peaks samples the goroutine count and the heap every interval until
// stopped, and keeps their highest values.
type peaks struct {
	goroutines atomic.Int64
	heap       atomic.Uint64
	stop       chan struct{}
	done       sync.WaitGroup
}

func samplePeaks(interval time.Duration) *peaks {
	p := &peaks{stop: make(chan struct{})}
	p.done.Add(1)
	go func() {
		defer p.done.Done()
		for {
			if g := int64(runtime.NumGoroutine()); g > p.goroutines.Load() {
				p.goroutines.Store(g)
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > p.heap.Load() {
				p.heap.Store(ms.HeapAlloc)
			}
			select {
			case <-p.stop:
				return
			case <-time.After(interval):
			}
		}
	}()
	return p
}

// Stop ends the sampling and waits for it.
func (p *peaks) Stop() {
	close(p.stop)
	p.done.Wait()
}
