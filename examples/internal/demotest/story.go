package demotest

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Started is an example app started by StartApp.
type Started struct {
	// URL is where it listens.
	URL string
	// AdminURL is where its admin listener listens, "" when it printed
	// none.
	AdminURL string
	// Lines are what it printed before listening.
	Lines []string
	stop  context.CancelFunc
	done  chan error
	once  sync.Once
	err   error
}

// RunFunc is an example's run function.
type RunFunc func(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error

// AnyAdminPort runs an example with its admin listener on a free loopback
// port, as StartApp puts its public one: a test never takes the default
// port, which another test or a running demo may hold.
func AnyAdminPort(run RunFunc) RunFunc {
	return func(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
		return run(ctx, append(args, "-admin-addr", "127.0.0.1:0"), getenv, stdout)
	}
}

// StartApp runs an example's run function on a free loopback port with no
// Stytch credentials in its environment (emulator mode), and stops it when
// the test ends.
func StartApp(t testing.TB, run RunFunc) *Started {
	t.Helper()
	return StartAppWith(t, run, nil)
}

// StartAppWith is StartApp with the environment env.
func StartAppWith(t testing.TB, run RunFunc, env map[string]string) *Started {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := &Started{stop: cancel, done: make(chan error, 1)}
	go func() {
		err := run(ctx, []string{"-addr", "127.0.0.1:0"}, func(k string) string { return env[k] }, pw)
		pw.CloseWithError(err)
		s.done <- err
	}()
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		line := sc.Text()
		s.Lines = append(s.Lines, line)
		if u, ok := strings.CutPrefix(line, "admin listening on "); ok {
			s.AdminURL, _, _ = strings.Cut(u, " ")
		}
		if u, ok := strings.CutPrefix(line, "listening on "); ok {
			s.URL = u
			break
		}
	}
	if s.URL == "" {
		t.Fatalf("the app did not start: %v %v", s.Lines, sc.Err())
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("the app stopped with %v", err)
		}
	})
	return s
}

// Organization is the first demo organization the app printed (B2B), ""
// when it printed none.
func (s *Started) Organization() string {
	if orgs := s.Organizations(); len(orgs) > 0 {
		return orgs[0]
	}
	return ""
}

// Organizations are the ids of the demo organizations the app printed, in
// order (B2B).
func (s *Started) Organizations() []string {
	var out []string
	for _, l := range s.Lines {
		if rest, ok := strings.CutPrefix(l, "demo organization "); ok {
			id, _, _ := strings.Cut(rest, " ")
			out = append(out, id)
		}
	}
	return out
}

// Stop shuts the app down, as SIGTERM would, and returns what its run
// function returned. Later calls return the same.
func (s *Started) Stop() error {
	s.once.Do(func() {
		s.stop()
		select {
		case s.err = <-s.done:
		case <-time.After(AwaitTimeout):
			s.err = fmt.Errorf("the app did not stop within %v", AwaitTimeout)
		}
	})
	return s.err
}

// browser is an HTTP client with its own cookie jar, like one browser.
type browser struct {
	t    testing.TB
	base string
	c    *http.Client
}

func newBrowser(t testing.TB, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 10 * time.Second}}
}

func (b *browser) do(method, path string, form url.Values) (int, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, b.base+path, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// cookies returns the session cookies the jar holds for the app.
func (b *browser) cookies() []*http.Cookie {
	u, _ := url.Parse(b.base)
	return b.c.Jar.Cookies(u)
}

// crossSite POSTs to path with the jar's cookies as a page of another site
// would make a browser do.
func (b *browser) crossSite(path string) int {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.base+path, strings.NewReader("title=pwned&email=evil%40example.com&role=editor"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// withCookies sends a GET with exactly these cookies, as a client that kept
// them after logout would.
func (b *browser) withCookies(path string, cookies []*http.Cookie) int {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.base+path, nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// RunStory walks an example app through the story every example must tell:
// sign in as a viewer, read but not write documents, sign in again
// elsewhere, see two sessions, log out one, see it refused and the other
// work, log out everywhere, see that refused too. prefix is where the API
// and logout routes live ("" or "/orgs/<id>").
func RunStory(t *testing.T, base, prefix string) {
	laptop, phone := newBrowser(t, base), newBrowser(t, base)
	login := url.Values{"email": {"ada@example.com"}, "role": {"viewer"}}

	status, page := laptop.do("POST", "/demo/login", login)
	if status != 200 || !strings.Contains(page, `id="who"`) {
		t.Fatalf("sign in: %d %s", status, page)
	}
	status, body := laptop.do("GET", prefix+"/api/me", nil)
	var me map[string]any
	_ = json.Unmarshal([]byte(body), &me)
	if status != 200 || me["session_id"] == nil || me["verified"] != "local" {
		t.Fatalf("me: %d %s", status, body)
	}
	if status, body := laptop.do("GET", prefix+"/api/documents", nil); status != 200 || !strings.Contains(body, `"granted_by":["viewer"]`) {
		t.Fatalf("read documents as a viewer: %d %s", status, body)
	}
	if status, body := laptop.do("POST", prefix+"/api/documents", url.Values{"title": {"x"}}); status != 403 || !strings.Contains(body, "authorization_error") {
		t.Fatalf("write documents as a viewer: %d %s", status, body)
	}
	// Another site's page posting with the viewer's cookies is refused
	// before any handler runs, on every POST route.
	for _, path := range []string{prefix + "/api/documents", "/demo/login", prefix + "/logout"} {
		if status := laptop.crossSite(path); status != 403 {
			t.Fatalf("cross-origin POST %s: %d", path, status)
		}
	}

	if status, _ := phone.do("POST", "/demo/login", login); status != 200 {
		t.Fatalf("second sign in: %d", status)
	}
	status, body = laptop.do("GET", prefix+"/api/sessions", nil)
	var list map[string][]any
	_ = json.Unmarshal([]byte(body), &list)
	if status != 200 || len(list["sessions"])+len(list["member_sessions"]) != 2 {
		t.Fatalf("sessions: %d %s", status, body)
	}

	laptopCookies := laptop.cookies()
	if status, page := laptop.do("POST", prefix+"/logout", url.Values{}); status != 200 || !strings.Contains(page, `id="signed-out"`) {
		t.Fatalf("logout: %d %s", status, page)
	}
	if len(laptop.cookies()) != 0 {
		t.Fatalf("cookies left after logout: %v", laptop.cookies())
	}
	if status := laptop.withCookies(prefix+"/api/me", laptopCookies); status != 401 {
		t.Fatalf("me with the logged-out cookies: %d", status)
	}
	if status, _ := phone.do("GET", prefix+"/api/me", nil); status != 200 {
		t.Fatalf("the other session after logout: %d", status)
	}

	phoneCookies := phone.cookies()
	if status, page := phone.do("POST", prefix+"/logout-all", url.Values{}); status != 200 || !strings.Contains(page, `id="signed-out"`) {
		t.Fatalf("logout-all: %d %s", status, page)
	}
	if status := phone.withCookies(prefix+"/api/me", phoneCookies); status != 401 {
		t.Fatalf("me after logout-all: %d", status)
	}
}
