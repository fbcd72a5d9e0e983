package middleware_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/internal/memstore"
	"github.com/stytchguard/stytchguard/internal/svix"

	"github.com/stytchguard/stytchguard/authz"
	"github.com/stytchguard/stytchguard/middleware"
	"github.com/stytchguard/stytchguard/session"
	"github.com/stytchguard/stytchguard/stytchtest"
)

const hookSecret = "whsec_c3R5dGNoZ3VhcmQtd2ViaG9vay10ZXN0LXNlY3JldA=="

// hooked is two app instances sharing one revocation list (as they would
// through redisstore) in front of one emulator; instance A mounts the
// webhook handler, which the emulator delivers to.
type hooked struct {
	srv      *stytchtest.Server
	a, b     http.Handler
	hookURL  string
	received chan int // the status of every delivery A answered
}

func newHooked(t *testing.T) *hooked {
	t.Helper()
	srv := stytchtest.NewServer(stytchtest.WithFrozenClock(time.Now()))
	t.Cleanup(srv.Close)
	srv.SetPolicy(session.Policy{Roles: []session.Role{
		{RoleID: "stytch_user", Permissions: []session.Permission{}},
		{RoleID: "editor", Permissions: []session.Permission{{ResourceID: "documents", Actions: []string{"read", "write"}}}},
	}})
	shared := memstore.NewList(memstore.Config{Now: srv.Now})
	marks := memstore.NewMarks(memstore.Config{Now: srv.Now})
	h := &hooked{srv: srv, received: make(chan int, 100)}
	az, err := authz.New(authz.Config{Client: srv.Client(), Now: srv.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(az.Close)
	for i := range 2 {
		mw, err := middleware.New(middleware.Config{Client: srv.Client(), Now: srv.Now, Stores: middleware.Stores{Revocations: shared, Marks: marks}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(mw.Close)
		mux := http.NewServeMux()
		mux.Handle("GET /me", mw.Require(whoami))
		mux.Handle("POST /documents", mw.Require(az.Require("documents", "write")(whoami)))
		if i == 0 {
			wh, err := mw.WebhookHandler(hookSecret)
			if err != nil {
				t.Fatal(err)
			}
			mux.Handle("/webhooks/stytch", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				rec := httptest.NewRecorder()
				wh.ServeHTTP(rec, r)
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.WriteHeader(rec.Code)
				_, _ = w.Write(rec.Body.Bytes())
				h.received <- rec.Code
			}))
			h.a = mux
		} else {
			h.b = mux
		}
	}
	ts := httptest.NewServer(h.a)
	t.Cleanup(ts.Close)
	h.hookURL = ts.URL + "/webhooks/stytch"
	return h
}

// wait returns the status of the next delivery A answered.
func (h *hooked) wait(t *testing.T) int {
	t.Helper()
	select {
	case code := <-h.received:
		return code
	case <-time.After(5 * time.Second):
		t.Fatal("no webhook delivery arrived")
		return 0
	}
}

func do(h http.Handler, method, path, jwt string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, path, nil)
	r.AddCookie(&http.Cookie{Name: "stytch_session_jwt", Value: jwt})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func TestWebhookDemotionIsEnforcedOnEveryInstance(t *testing.T) {
	h := newHooked(t)
	u := h.srv.CreateUser(stytchtest.UserParams{Email: "ed@example.com", Roles: []string{"editor"}})
	tok, err := h.srv.StartSession(u.UserID, stytchtest.SessionParams{})
	if err != nil {
		t.Fatal(err)
	}
	h.srv.ResetCalls()
	for _, in := range []http.Handler{h.a, h.b} {
		if rec := do(in, "POST", "/documents", tok.SessionJWT); rec.Code != 200 {
			t.Fatalf("an editor's write: %d %s", rec.Code, rec.Body)
		}
	}
	if n := h.srv.Calls(stytchtest.Authenticate); n != 0 {
		t.Fatalf("%d calls before any change: the JWT should be enough", n)
	}

	h.srv.SetWebhooks(stytchtest.WebhookConfig{Secret: hookSecret, URLs: []string{h.hookURL}})
	start := time.Now()
	if err := h.srv.SetUserRoles(u.UserID, nil); err != nil { // demoted in the dashboard
		t.Fatal(err)
	}
	if code := h.wait(t); code != http.StatusNoContent {
		t.Fatalf("delivery answered %d", code)
	}
	h.srv.Advance(time.Second) // the app's clock is the emulator's, frozen: let time pass
	// The same, still fresh JWT: refused on both instances, at the cost of
	// one call to Stytch per instance, which answers the new roles.
	for i, in := range []http.Handler{h.a, h.b} {
		if rec := do(in, "POST", "/documents", tok.SessionJWT); rec.Code != http.StatusForbidden {
			t.Fatalf("instance %d: a demoted editor's write: %d %s", i, rec.Code, rec.Body)
		}
	}
	t.Logf("demotion enforced on both instances %v after the change", time.Since(start))
	if n := h.srv.Calls(stytchtest.Authenticate); n != 2 {
		t.Fatalf("%d calls to Stytch, want one per instance", n)
	}
	// Asked again: the answer is reused, not asked a third time.
	if rec := do(h.b, "GET", "/me", tok.SessionJWT); rec.Code != 200 || h.srv.Calls(stytchtest.Authenticate) != 2 {
		t.Fatalf("reading after the demotion: %d, %d calls", rec.Code, h.srv.Calls(stytchtest.Authenticate))
	}
}

func TestWebhookDeletionSignsOutAtOnce(t *testing.T) {
	h := newHooked(t)
	u := h.srv.CreateUser(stytchtest.UserParams{Email: "gone@example.com"})
	tok, _ := h.srv.StartSession(u.UserID, stytchtest.SessionParams{})
	if rec := do(h.b, "GET", "/me", tok.SessionJWT); rec.Code != 200 {
		t.Fatal(rec.Code)
	}
	h.srv.SetWebhooks(stytchtest.WebhookConfig{Secret: hookSecret, URLs: []string{h.hookURL}})
	if err := h.srv.DeleteUser(u.UserID); err != nil {
		t.Fatal(err)
	}
	if code := h.wait(t); code != http.StatusNoContent {
		t.Fatalf("delivery answered %d", code)
	}
	rec := do(h.b, "GET", "/me", tok.SessionJWT)
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("a deleted user's fresh JWT: %d", rec.Code)
	}
	if c := cookies(rec)["stytch_session_jwt"]; c == nil || c.MaxAge >= 0 {
		t.Fatalf("cookies not cleared: %v", rec.Result().Cookies())
	}
}

func TestWebhookRefusalsChangeNothing(t *testing.T) {
	h := newHooked(t)
	u := h.srv.CreateUser(stytchtest.UserParams{Email: "ed@example.com", Roles: []string{"editor"}})
	tok, _ := h.srv.StartSession(u.UserID, stytchtest.SessionParams{})
	stillTrusted := func(t *testing.T) {
		t.Helper()
		h.srv.ResetCalls()
		if rec := do(h.b, "POST", "/documents", tok.SessionJWT); rec.Code != 200 || h.srv.Calls(stytchtest.Authenticate) != 0 {
			t.Fatalf("after a refused delivery: %d, %d calls", rec.Code, h.srv.Calls(stytchtest.Authenticate))
		}
	}
	tests := []struct {
		name  string
		fault stytchtest.WebhookFault
		want  []int // what A answered, in order
	}{
		{"forged", stytchtest.WebhookFault{BadSignature: true}, []int{401}},
		{"stale", stytchtest.WebhookFault{StaleTimestamp: true}, []int{401}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h.srv.SetWebhooks(stytchtest.WebhookConfig{Secret: hookSecret, URLs: []string{h.hookURL}, Fault: tt.fault, Retries: []time.Duration{}})
			if err := h.srv.SetUserRoles(u.UserID, []string{"editor"}); err != nil {
				t.Fatal(err)
			}
			for _, want := range tt.want {
				if got := h.wait(t); got != want {
					t.Fatalf("answered %d, want %d", got, want)
				}
			}
			stillTrusted(t)
		})
	}

	// Another project's event, correctly signed.
	t.Run("other project", func(t *testing.T) {
		body := fmt.Sprintf(`{"project_id":"project-test-other","event_id":"e","id":%q,"object_type":"user","action":"DELETE","source":"DASHBOARD","timestamp":"2026-01-01T00:00:00Z"}`, u.UserID)
		if rec := deliver(t, h.a, h.srv.Now(), "msg_other", body); rec.Code != http.StatusForbidden {
			t.Fatalf("another project's event: %d", rec.Code)
		}
		stillTrusted(t)
	})
	t.Run("replayed", func(t *testing.T) {
		// A user.create of someone else, accepted, then sent again.
		body := fmt.Sprintf(`{"project_id":%q,"event_id":"e","id":"user-test-x","object_type":"user","action":"CREATE","source":"DASHBOARD","timestamp":"2026-01-01T00:00:00Z"}`, h.srv.ProjectID())
		if rec := deliver(t, h.a, h.srv.Now(), "msg_once", body); rec.Code != http.StatusNoContent {
			t.Fatalf("first delivery: %d", rec.Code)
		}
		replayed := strings.Replace(body, "user-test-x", u.UserID, 1) // a replay's body would have to be signed anew
		if rec := deliver(t, h.a, h.srv.Now(), "msg_once", replayed); rec.Code != http.StatusConflict {
			t.Fatalf("replayed id: %d", rec.Code)
		}
		stillTrusted(t)
	})
	t.Run("malformed", func(t *testing.T) {
		if rec := deliver(t, h.a, h.srv.Now(), "msg_bad", `{"nope":`); rec.Code != http.StatusBadRequest {
			t.Fatalf("malformed: %d", rec.Code)
		}
		r := httptest.NewRequest("GET", "/webhooks/stytch", nil)
		rec := httptest.NewRecorder()
		h.a.ServeHTTP(rec, r)
		if rec.Code != http.StatusMethodNotAllowed {
			t.Fatalf("GET: %d", rec.Code)
		}
		stillTrusted(t)
	})
}

// deliver posts one signed delivery straight to the handler.
func deliver(t testing.TB, h http.Handler, at time.Time, id, body string) *httptest.ResponseRecorder {
	t.Helper()
	sig, err := svix.Sign(hookSecret, id, at, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("POST", "/webhooks/stytch", strings.NewReader(body))
	r.Header.Set("svix-id", id)
	r.Header.Set("svix-timestamp", strconv.FormatInt(at.Unix(), 10))
	r.Header.Set("svix-signature", sig)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// TestWebhookBurstIsBounded sends 10,000 member updates, each a different
// member, straight to the handler: all are absorbed, and what they leave
// behind is bounded by the marks' size (past it, everyone is marked).
func TestWebhookBurstIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 deliveries")
	}
	srv := stytchtest.NewServer(stytchtest.WithFrozenClock(time.Now()))
	defer srv.Close()
	list := memstore.NewMarks(memstore.Config{Size: 5_000, Now: srv.Now})
	mw, err := middleware.New(middleware.Config{Client: srv.Client(), Now: srv.Now, Stores: middleware.Stores{Marks: list}})
	if err != nil {
		t.Fatal(err)
	}
	defer mw.Close()
	wh, err := mw.WebhookHandler(hookSecret)
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	const n = 10_000
	for i := range n {
		ev := map[string]any{"project_id": srv.ProjectID(), "event_id": fmt.Sprint("e", i), "id": fmt.Sprintf("member-test-%08d", i),
			"object_type": "member", "action": "UPDATE", "source": "SCIM", "timestamp": srv.Now().Format(time.RFC3339Nano), "vertical": "B2B"}
		body, _ := json.Marshal(ev)
		if rec := deliver(t, wh, srv.Now(), fmt.Sprint("msg_", i), string(body)); rec.Code != http.StatusNoContent {
			t.Fatalf("delivery %d: %d %s", i, rec.Code, rec.Body)
		}
	}
	took := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&after)
	if list.Len() > 5_000 {
		t.Fatalf("%d marks held, bound 5,000", list.Len())
	}
	if until, ok := list.MarkedUntil(context.Background(), "member-test-00000000"); !ok || !until.After(srv.Now()) {
		t.Fatal("the first member's mark was dropped for room and nobody holds it: everyone should")
	}
	grew := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	t.Logf("10,000 deliveries in %v (%.0f/s); marks held %d (dropped %d); heap grew %.1f MiB", took, n/took.Seconds(), list.Len(), list.Dropped(), float64(grew)/(1<<20))
	if grew > 64<<20 {
		t.Fatalf("heap grew %d bytes", grew)
	}
}

// TestLogoutFloodCannotPushOutAMark holds that marks live apart from
// logouts: a flood of logouts past the revocation list's size (logouts are
// free to anyone signed in) leaves a deleted person's mark, so that their
// still fresh JWT is checked with Stytch and refused.
func TestLogoutFloodCannotPushOutAMark(t *testing.T) {
	a := newApp(t, func(c *middleware.Config) {
		c.Stores.Revocations = memstore.NewList(memstore.Config{Size: 10, Now: c.Now})
	})
	wh, err := a.mw.WebhookHandler(hookSecret)
	if err != nil {
		t.Fatal(err)
	}
	gone, tok := a.user(t)
	if err := a.srv.DeleteUser(gone.UserID); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf(`{"project_id":%q,"event_id":"e1","id":%q,"object_type":"user","action":"DELETE","source":"DASHBOARD","timestamp":"2026-01-01T00:00:00Z"}`, a.srv.ProjectID(), gone.UserID)
	if rec := deliver(t, wh, a.srv.Now(), "msg_delete", body); rec.Code != http.StatusNoContent {
		t.Fatalf("delivery: %d %s", rec.Code, rec.Body)
	}
	for range 50 {
		_, other := a.user(t)
		if rec := a.do(req("POST", "/logout", "jwt:"+other.SessionJWT)); rec.Code != http.StatusNoContent {
			t.Fatalf("logout: %d", rec.Code)
		}
	}
	if rec := a.do(req("GET", "/me", "bearer:"+tok.SessionJWT)); rec.Code != http.StatusUnauthorized {
		t.Fatalf("a deleted user's fresh JWT after a logout flood: %d %s", rec.Code, rec.Body)
	}
}
