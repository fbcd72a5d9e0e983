package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/stytchguard/stytchguard/examples/internal/demo"
)

const chromiumPath = "/usr/bin/chromium"

// TestBrowser drives the page in headless Chromium: sign in through the
// form, see the member, a form on another origin posting to /logout is
// refused, log out, see the signed-out page and no session cookies. The
// screenshot of the signed-in page goes to $ARTIFACTS (default: the test's
// temporary directory).
func TestBrowser(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("Chromium is not installed at %s; .ci/run installs it", chromiumPath)
		}
		t.Skipf("Chromium is not installed at %s (apt-get install chromium)", chromiumPath)
	}
	app := demo.StartApp(t, run)
	org := ""
	for _, l := range app.Lines {
		if rest, ok := strings.CutPrefix(l, "demo organization "); ok {
			org, _, _ = strings.Cut(rest, " ")
		}
	}
	// Another origin (another port) with a form that posts to the app's logout.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><form id="f" method="post" action="%s/orgs/%s/logout"></form><script>document.getElementById("f").submit()</script>`, app.URL, org)
	}))
	defer evil.Close()

	// Chromium's helper processes may still write to its profile for a moment
	// after it is stopped: remove it best-effort rather than with t.TempDir.
	profile, err := os.MkdirTemp("", "stytchguard-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for range 20 {
			if os.RemoveAll(profile) == nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(profile),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-sync", true),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	var member, orgShown string
	var shot []byte
	err = chromedp.Run(ctx,
		chromedp.Navigate(app.URL),
		chromedp.WaitVisible("#sign-in", chromedp.ByQuery),
		chromedp.SetValue("#email", "grace@example.com", chromedp.ByQuery),
		chromedp.SetValue("#role", "editor", chromedp.ByQuery),
		chromedp.Click("#sign-in", chromedp.ByQuery),
		chromedp.WaitVisible("#who", chromedp.ByQuery),
		chromedp.Text("#member-id", &member, chromedp.ByQuery),
		chromedp.Text("#org-id", &orgShown, chromedp.ByQuery),
		chromedp.FullScreenshot(&shot, 100), // quality 100: PNG
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(member, "member-test-") || orgShown != org {
		t.Fatalf("page shows member %q of %q", member, orgShown)
	}
	if names := sessionCookies(t, ctx, app.URL); len(names) != 2 {
		t.Fatalf("session cookies after sign-in: %v", names)
	}
	dir := os.Getenv("ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "chi-app-signed-in.png")
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)

	// The cross-origin form is refused and ends nothing.
	var refused string
	err = chromedp.Run(ctx,
		chromedp.Navigate(evil.URL),
		chromedp.WaitVisible("body", chromedp.ByQuery),
		chromedp.Poll(`document.location.href.includes("/logout") && document.body.innerText.length > 0`, nil, chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.Text("body", &refused, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(refused, `"status_code":403`) {
		t.Fatalf("cross-origin logout answered %q", refused)
	}
	var stillMember string
	if err := chromedp.Run(ctx,
		chromedp.Navigate(app.URL),
		chromedp.WaitVisible("#who", chromedp.ByQuery),
		chromedp.Text("#member-id", &stillMember, chromedp.ByQuery),
	); err != nil || stillMember != member {
		t.Fatalf("signed out by another origin's form: %v %q", err, stillMember)
	}

	// Log out with the button.
	if err := chromedp.Run(ctx,
		chromedp.Click("#logout", chromedp.ByQuery),
		chromedp.WaitVisible("#signed-out", chromedp.ByQuery),
	); err != nil {
		t.Fatal(err)
	}
	if names := sessionCookies(t, ctx, app.URL); len(names) != 0 {
		t.Fatalf("session cookies after logout: %v", names)
	}
}

// sessionCookies returns the names of the session cookies the browser holds
// for url.
func sessionCookies(t *testing.T, ctx context.Context, url string) []string {
	t.Helper()
	var cookies []*network.Cookie
	if err := chromedp.Run(ctx, chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		cookies, err = network.GetCookies().WithURLs([]string{url}).Do(ctx)
		return err
	})); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cookies {
		if c.Name == "stytch_session" || c.Name == "stytch_session_jwt" {
			names = append(names, c.Name)
		}
	}
	return names
}
