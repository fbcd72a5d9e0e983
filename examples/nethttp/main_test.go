package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stytchguard/stytchguard/examples/internal/demotest"
	"github.com/stytchguard/stytchguard/redisstore/redistest"
	"github.com/stytchguard/stytchguard/stytchtest"
)

// TestAdminListener: /metrics only on the admin listener, the probes on
// the public one.
func TestAdminListener(t *testing.T) {
	demotest.RunAdminStory(t, run)
}

func TestStory(t *testing.T) {
	app := demotest.StartApp(t, demotest.AnyAdminPort(run))
	demotest.RunStory(t, app.URL, "")
}

func TestWrongSecretStopsTheAppAtStart(t *testing.T) {
	emu := stytchtest.NewServer()
	defer emu.Close()
	const secret = "secret-test-wrong-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	env := map[string]string{"STYTCH_PROJECT_ID": emu.ProjectID(), "STYTCH_SECRET": secret, "STYTCH_BASE_URL": emu.URL}
	err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-admin-addr", "127.0.0.1:0"}, func(k string) string { return env[k] }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "refused the credentials") || strings.Contains(err.Error(), secret) {
		t.Fatalf("run with a wrong secret: %v", err)
	}
}

// TestTwoInstancesShareLogoutsThroughRedis runs two instances of the app on
// one Stytch (the emulator, over HTTP) and one real Redis, as REDIS_URL
// makes them: a logout on one is refused by the other within 200 ms, and by
// an instance started after it.
func TestTwoInstancesShareLogoutsThroughRedis(t *testing.T) {
	emu := stytchtest.NewServer()
	defer emu.Close()
	r := redistest.Start(t)
	env := map[string]string{
		"STYTCH_PROJECT_ID": emu.ProjectID(), "STYTCH_SECRET": emu.Secret(), "STYTCH_BASE_URL": emu.URL,
		"REDIS_URL": r.URL(),
	}
	a, b := demotest.StartAppWith(t, demotest.AnyAdminPort(run), env), demotest.StartAppWith(t, demotest.AnyAdminPort(run), env)
	if !strings.Contains(strings.Join(a.Lines, "\n"), "in Redis at "+r.Addr()) {
		t.Fatalf("the app does not say where its revocations live: %v", a.Lines)
	}
	u := emu.CreateUser(stytchtest.UserParams{Email: "ada@example.com"})
	tok, err := emu.StartSession(u.UserID, stytchtest.SessionParams{})
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	call := func(method, url, cookie, value string) int {
		t.Helper()
		req, _ := http.NewRequest(method, url, nil)
		req.AddCookie(&http.Cookie{Name: cookie, Value: value})
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	emu.ResetCalls()
	for _, in := range []*demotest.Started{a, b} {
		if c := call("GET", in.URL+"/api/me", "stytch_session", tok.SessionToken); c != 200 {
			t.Fatalf("opaque token: %d", c)
		}
		if c := call("GET", in.URL+"/api/me", "stytch_session_jwt", tok.SessionJWT); c != 200 {
			t.Fatalf("JWT: %d", c)
		}
	}
	if n := emu.Calls(stytchtest.Authenticate); n != 1 {
		t.Fatalf("%d calls to Stytch for one opaque token on two instances, want 1", n)
	}
	if c := call("POST", a.URL+"/logout", "stytch_session_jwt", tok.SessionJWT); c != http.StatusSeeOther {
		t.Fatalf("logout on A: %d", c)
	}
	took := demotest.Within(t, 200*time.Millisecond, "B to refuse the session after A's logout", func() (string, bool) {
		c := call("GET", b.URL+"/api/me", "stytch_session_jwt", tok.SessionJWT)
		return fmt.Sprintf("B answered %d", c), c == http.StatusUnauthorized
	})
	t.Logf("B refused the session %v after A's logout answered", took)
	if err := b.Stop(); err != nil {
		t.Fatal(err)
	}
	restarted := demotest.StartAppWith(t, demotest.AnyAdminPort(run), env)
	if c := call("GET", restarted.URL+"/api/me", "stytch_session_jwt", tok.SessionJWT); c != http.StatusUnauthorized {
		t.Fatalf("an instance started after the logout accepted the session: %d", c)
	}
}

// TestMachineDemo runs the curl line the app prints at start, as printed:
// it gets a token from the emulator and calls /api/reports with it. A
// person's session is refused there.
func TestMachineDemo(t *testing.T) {
	app := demotest.StartApp(t, demotest.AnyAdminPort(run))
	var line string
	for _, l := range app.Lines {
		if c, ok := strings.CutPrefix(l, "Try it: "); ok {
			line = c
		}
	}
	if line == "" || !strings.Contains(line, app.URL+"/api/reports") {
		t.Fatalf("no curl line for /api/reports in %v", app.Lines)
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is needed to run the printed line (Debian's curl package)")
	}
	out, err := exec.Command("sh", "-c", line).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	var got struct {
		ClientID string   `json:"client_id"`
		Scopes   []string `json:"scopes"`
	}
	if err := json.Unmarshal(out, &got); err != nil || !strings.HasPrefix(got.ClientID, "m2m-client-test-") || len(got.Scopes) != 1 || got.Scopes[0] != "read:reports" {
		t.Fatalf("the printed curl line answered %s (%v)", out, err)
	}
	resp, err := http.Get(app.URL + "/api/reports")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/api/reports without a token: %d", resp.StatusCode)
	}
}

// TestAuthorIsNamedHoweverTheSessionIsVerified: a document's author is the
// name the person signed in with, whether the request's session was
// verified locally (its JWT, which carries no name) or by Stytch (its
// opaque token, whose answer holds the user). The browser story read the
// one or the other depending on when the emulator's webhook for the
// sign-in's role change arrived.
func TestAuthorIsNamedHoweverTheSessionIsVerified(t *testing.T) {
	app := demotest.StartApp(t, run)
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	resp, err := browser.PostForm(app.URL+"/demo/login", url.Values{"email": {"grace@example.com"}, "name": {"Grace Hopper"}, "role": {"editor"}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("sign in: %v %v", resp, err)
	}
	resp.Body.Close()
	u, _ := url.Parse(app.URL)
	cookies := map[string]*http.Cookie{}
	for _, c := range jar.Cookies(u) {
		cookies[c.Name] = c
	}
	for _, name := range []string{"stytch_session_jwt", "stytch_session"} {
		c := cookies[name]
		if c == nil {
			t.Fatalf("no %s cookie after sign-in: %v", name, jar.Cookies(u))
		}
		req, _ := http.NewRequest("POST", app.URL+"/api/documents", strings.NewReader(url.Values{"title": {"By " + name}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(c)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			AuthorName string `json:"author_name"`
		}
		err = json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated || err != nil || doc.AuthorName != "Grace Hopper" {
			t.Errorf("a write with only %s: %d, author %q (%v)", name, resp.StatusCode, doc.AuthorName, err)
		}
	}
}
