package demotest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/stytchguard/stytchguard/examples/internal/demo"
)

// ChromiumEnv names the environment variable that points the browser tests
// at a Chromium or Chrome binary; without it they look for one on PATH.
const ChromiumEnv = "CHROMIUM"

// Chromium returns the browser the tests drive: $CHROMIUM when set, else
// the first of chromium, chromium-browser, google-chrome and chrome found
// on PATH. The error says how to get one.
func Chromium() (string, error) {
	if p := os.Getenv(ChromiumEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("$%s is %s, which is not there: %w", ChromiumEnv, p, err)
		}
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no Chromium on PATH (apt-get install chromium, or set $%s to a Chromium or Chrome binary)", ChromiumEnv)
}

// device is one browser context of a headless Chromium: its own cookies,
// like one person's laptop or phone.
type device struct {
	t    *testing.T
	name string
	ctx  context.Context
	app  *Started
	dir  string
	shot *int
}

// run runs actions, failing the test with what was being done.
func (d *device) run(what string, actions ...chromedp.Action) {
	d.t.Helper()
	if err := chromedp.Run(d.ctx, actions...); err != nil {
		d.t.Fatalf("%s, %s: %v", d.name, what, err)
	}
}

// screenshot saves the whole page as the story's next numbered PNG.
func (d *device) screenshot(step string) {
	d.t.Helper()
	var png []byte
	d.run("screenshot "+step, chromedp.ActionFunc(func(ctx context.Context) error {
		// chromedp.FullScreenshot's PNG, encoded for speed rather than
		// size: a second a screenshot on a loaded machine otherwise.
		var err error
		png, err = page.CaptureScreenshot().WithCaptureBeyondViewport(true).WithFromSurface(true).
			WithFormat(page.CaptureScreenshotFormatPng).WithOptimizeForSpeed(true).Do(ctx)
		return err
	}))
	*d.shot++
	path := filepath.Join(d.dir, fmt.Sprintf("%02d-%s-%s.png", *d.shot, d.name, step))
	if err := os.WriteFile(path, png, 0o644); err != nil {
		d.t.Fatal(err)
	}
}

// pageJS wraps expr, evaluated in the page, so that it is read only from a
// page that finished loading: every element parsed, the deferred demo.js
// run. A page half-parsed under load would show a list without its last
// items, or a form whose script is not yet attached.
func pageJS(expr string) string {
	return `(() => document.readyState !== "complete" ? {loading: true, at: location.href} : {value: (` + expr + `), at: location.href})()`
}

// await polls expr, a JavaScript expression, in the device's loaded page
// until done accepts its value, and returns that value; the test fails with
// what was awaited and the value last seen when AwaitTimeout passes first.
// A page between documents (its script context gone) counts as not yet.
func await[V any](d *device, what, expr string, done func(V) bool) V {
	d.t.Helper()
	var last V
	Await(d.t, d.name+": "+what, func() (string, bool) {
		var r struct {
			Loading bool
			Value   V
			At      string
		}
		ctx, cancel := context.WithTimeout(d.ctx, 10*time.Second)
		defer cancel()
		if err := chromedp.Run(ctx, chromedp.Evaluate(pageJS(expr), &r)); err != nil {
			return err.Error(), false
		}
		if r.Loading {
			return "the page at " + r.At + " still loading", false
		}
		last = r.Value
		return fmt.Sprintf("%v at %s", r.Value, r.At), done(r.Value)
	})
	return last
}

// loaded waits until the device's page has finished loading.
func (d *device) loaded(what string) {
	d.t.Helper()
	await(d, what+": the page finished loading", "true", func(bool) bool { return true })
}

// text returns the text of the first element sel matches, once the page
// has finished loading and holds one.
func (d *device) text(sel string) string {
	d.t.Helper()
	q := `document.querySelector(` + strconv.Quote(sel) + `)`
	s := await(d, "an element "+sel+" to read", q+` ? `+q+`.innerText : null`, func(s *string) bool { return s != nil })
	return strings.TrimSpace(*s)
}

// count returns how many elements sel matches once the page has finished
// loading.
func (d *device) count(sel string) int {
	d.t.Helper()
	return await(d, "a count of "+sel, `document.querySelectorAll(`+strconv.Quote(sel)+`).length`, func(int) bool { return true })
}

// step runs actions that end on a new page (a click that submits a form,
// a navigation, each ending with a wait for an element only that page
// has), then waits for that page to finish loading, so that the next click
// finds its script attached and the next read its whole content.
func (d *device) step(what string, actions ...chromedp.Action) {
	d.t.Helper()
	d.run(what, actions...)
	d.loaded(what)
}

// url returns the current page's address.
func (d *device) url() string {
	d.t.Helper()
	var u string
	d.run("read the address", chromedp.Location(&u))
	return u
}

// sessionCookies returns the names of the session cookies the device holds
// for the app.
func (d *device) sessionCookies() []string {
	d.t.Helper()
	var cookies []*network.Cookie
	d.run("read cookies", chromedp.ActionFunc(func(ctx context.Context) error {
		var err error
		cookies, err = network.GetCookies().WithURLs([]string{d.app.URL}).Do(ctx)
		return err
	}))
	var names []string
	for _, c := range cookies {
		if strings.HasPrefix(c.Name, "stytch_session") {
			if !c.HTTPOnly {
				d.t.Errorf("%s: cookie %s is readable by scripts", d.name, c.Name)
			}
			names = append(names, c.Name)
		}
	}
	return names
}

// signIn signs the demo person in through the page's form.
func (d *device) signIn(email, name, role string) {
	d.t.Helper()
	d.step("sign in as "+role,
		chromedp.Navigate(d.app.URL+"/"),
		chromedp.WaitVisible("#sign-in", chromedp.ByQuery),
		chromedp.SetValue("#email", email, chromedp.ByQuery),
		chromedp.SetValue("#name", name, chromedp.ByQuery),
		chromedp.SetValue("#role", role, chromedp.ByQuery),
		chromedp.Click("#sign-in", chromedp.ByQuery),
		chromedp.WaitVisible("#who", chromedp.ByQuery),
	)
}

// returnPathsStayOnSite signs in through the demo's form with return_to
// values that browsers read as another site, and checks that each lands on
// the app. It leaves the device signed out.
func returnPathsStayOnSite(d *device, email string) {
	d.t.Helper()
	d.step("open the app", chromedp.Navigate(d.app.URL+"/"))
	for _, rt := range []string{"/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "/\\evil.example", "\\/evil.example", " //evil.example", "/%09/evil.example", "/%5c/evil.example"} {
		// From the app's page the last sign-in landed on (a form of
		// this site, as the demo's own), marked so that its end shows.
		d.run("sign in with return_to "+strconv.Quote(rt),
			chromedp.Evaluate(fmt.Sprintf(`(() => {
				window.submitting = true;
				const f = document.createElement("form");
				f.method = "post"; f.action = "/demo/login";
				for (const [k, v] of Object.entries({email: %q, name: "Ada", role: %q, return_to: %s})) {
					const i = document.createElement("input"); i.type = "hidden"; i.name = k; i.value = v; f.appendChild(i);
				}
				document.body.appendChild(f); setTimeout(() => f.submit(), 0);
			})()`, email, demo.RoleViewer, strconv.Quote(rt)), nil),
		)
		// The form's navigation and its redirect end on some page; read
		// where, once the page that submitted it is gone.
		href := await(d, "the sign-in with return_to "+strconv.Quote(rt)+" to end", `window.submitting ? null : location.href`, func(href *string) bool {
			return href != nil
		})
		if !strings.HasPrefix(*href, d.app.URL+"/") {
			d.t.Fatalf("return_to %q took the browser to %q", rt, *href)
		}
	}
	d.run("sign out", chromedp.ActionFunc(func(ctx context.Context) error {
		return network.ClearBrowserCookies().Do(ctx)
	}))
}

// RunBrowserStory walks an example through its story in headless Chromium,
// with two browser contexts as one person's two devices, saving a
// screenshot of each step to $ARTIFACTS/<example> (default: a temporary
// directory): on the laptop, sign in as a viewer, read, see the form
// disabled with its reason, see a write refused in words, see another
// site's form refused; on the phone, sign in as an editor and write; (B2B)
// switch organization through the MFA step, see the documents stay with
// their organization; sign out on the phone, sign in again and be signed
// out from the laptop's list of devices; sign out everywhere from the
// laptop; both end signed out.
func RunBrowserStory(t *testing.T, run RunFunc, example string, b2b bool) {
	browser, err := Chromium()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v; .ci/run installs it", err)
		}
		t.Skipf("SKIPPED the browser story: %v", err)
	}
	app := StartApp(t, run)
	dir := os.Getenv("ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	dir = filepath.Join(dir, example)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	prefix := ""
	if b2b {
		prefix = "/orgs/" + app.Organization()
	}
	// Another origin (another port) whose page posts a form to the app's
	// logout, as a hostile site would with the visitor's cookies.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><form id="f" method="post" action="%s%s/logout"></form><script>document.getElementById("f").submit()</script>`, app.URL, prefix)
	}))
	defer evil.Close()

	shot := 0
	// One Chromium (a second is another set of processes to start and
	// run): the laptop is its first tab, the phone a tab in a browser
	// context of its own (as an incognito window is), so that their
	// cookies are never shared.
	laptopCtx := startChromium(t, browser)
	var tab target.ID
	if err := chromedp.Run(laptopCtx, chromedp.ActionFunc(func(ctx context.Context) error {
		// chromedp.WithNewBrowserContext opens its tab without a window,
		// which headless Chromium refuses ("no browser is open").
		b := cdp.WithExecutor(ctx, chromedp.FromContext(ctx).Browser)
		bc, err := target.CreateBrowserContext().WithDisposeOnDetach(true).Do(b)
		if err != nil {
			return err
		}
		tab, err = target.CreateTarget("about:blank").WithBrowserContextID(bc).WithNewWindow(true).Do(b)
		return err
	})); err != nil {
		t.Fatalf("opening the phone's browser context: %v", err)
	}
	phoneCtx, cancelPhone := chromedp.NewContext(laptopCtx, chromedp.WithTargetID(tab))
	t.Cleanup(cancelPhone)
	if err := chromedp.Run(phoneCtx); err != nil {
		t.Fatalf("attaching to the phone's tab: %v", err)
	}
	newDevice := func(name string, ctx context.Context) *device {
		return &device{t: t, name: name, ctx: ctx, app: app, dir: dir, shot: &shot}
	}
	laptop, phone := newDevice("laptop", laptopCtx), newDevice("phone", phoneCtx)
	const email = "ada@example.com"

	// A sign-in's return_to leads back to this site only: a browser drops
	// tabs and newlines from a Location and reads a backslash as a slash,
	// so each of these would land on another site if let through.
	returnPathsStayOnSite(laptop, "visitor@example.com")

	// The laptop: sign in as a viewer.
	laptop.step("open the app", chromedp.Navigate(app.URL+"/"), chromedp.WaitVisible("#sign-in", chromedp.ByQuery))
	laptop.screenshot("sign-in")
	laptop.signIn(email, "Ada Lovelace", demo.RoleViewer)
	if got := laptop.text("#person-name"); got != "Ada Lovelace" {
		t.Fatalf("the page names %q", got)
	}
	if names := laptop.sessionCookies(); len(names) != 2 {
		t.Fatalf("session cookies after sign-in: %v", names)
	}
	laptop.screenshot("home-viewer")

	// Read, and see why the form is disabled.
	laptop.step("open the documents", chromedp.Navigate(app.URL+prefix+"/documents"), chromedp.WaitVisible("#write-reason", chromedp.ByQuery))
	if reason := laptop.text("#write-reason"); !strings.Contains(reason, "editor role") {
		t.Fatalf("the viewer's form says %q", reason)
	}
	var disabled bool
	laptop.run("check the form", chromedp.Evaluate(`document.querySelector("#write fieldset").disabled`, &disabled))
	if !disabled {
		t.Fatal("the viewer's form is enabled")
	}
	laptop.screenshot("documents-viewer")

	// A write from a page that enabled the form anyway (an old tab, a
	// curious person with devtools) is refused by the server, in words.
	laptop.step("write as a viewer",
		chromedp.Evaluate(`document.querySelector("#write fieldset").disabled = false`, nil),
		chromedp.SetValue("#title", "A viewer's note", chromedp.ByQuery),
		chromedp.Click("#save", chromedp.ByQuery),
		chromedp.WaitVisible("#refused", chromedp.ByQuery),
	)
	if got := laptop.text("#refused"); got != "Your role does not allow this" {
		t.Fatalf("the refused write reads %q", got)
	}
	laptop.screenshot("write-refused")

	// Another site's form posting to logout is refused, in words, and
	// ends nothing.
	laptop.step("visit a hostile site", chromedp.Navigate(evil.URL), chromedp.WaitVisible("#refused", chromedp.ByQuery))
	if got := laptop.text("#refused"); !strings.Contains(got, "another site") {
		t.Fatalf("the cross-site logout reads %q", got)
	}
	laptop.screenshot("cross-site-refused")
	laptop.step("come back", chromedp.Navigate(app.URL+"/"), chromedp.WaitVisible("#who", chromedp.ByQuery))

	// The phone: the same person signs in as an editor and writes.
	phone.signIn(email, "Ada Lovelace", demo.RoleEditor)
	if devices := phone.count("#sessions li"); devices != 2 || !strings.Contains(phone.text("#sessions li:first-child"), "this device") {
		t.Fatalf("the phone lists %d sessions: %q", devices, phone.text("#sessions"))
	}
	phone.screenshot("home-editor")
	phone.step("write as an editor",
		chromedp.Navigate(app.URL+prefix+"/documents"),
		chromedp.WaitVisible("#title", chromedp.ByQuery),
		chromedp.SetValue("#title", "Quarterly plan", chromedp.ByQuery),
		chromedp.Click("#save", chromedp.ByQuery),
		chromedp.WaitVisible("#notice", chromedp.ByQuery),
	)
	if got := phone.text("#documents"); !strings.Contains(got, "Quarterly plan") || !strings.Contains(got, "Ada Lovelace") {
		t.Fatalf("the documents after the write: %q", got)
	}
	phone.screenshot("wrote")

	if b2b {
		// A page of another organization is refused in words.
		other := app.Organizations()[1]
		laptop.step("open another organization", chromedp.Navigate(app.URL+"/orgs/"+other+"/documents"), chromedp.WaitVisible("#refused", chromedp.ByQuery))
		if got := laptop.text("#refused"); got != "That belongs to another organization" {
			t.Fatalf("another organization's page reads %q", got)
		}
		laptop.screenshot("other-organization-refused")

		// Switch to Globex, which requires MFA: the code the emulator
		// texted completes the switch.
		phone.step("switch organization",
			chromedp.Navigate(app.URL+prefix+"/"),
			chromedp.WaitVisible("#switch-globex", chromedp.ByQuery),
			chromedp.Click("#switch-globex", chromedp.ByQuery),
			chromedp.WaitVisible("#send-code", chromedp.ByQuery),
		)
		phone.screenshot("mfa")
		phone.step("ask for a code", chromedp.Click("#send-code", chromedp.ByQuery), chromedp.WaitVisible("#demo-code", chromedp.ByQuery))
		code := phone.text("#demo-code .code")
		phone.step("type a wrong code",
			chromedp.SetValue("#code", wrongCode(code), chromedp.ByQuery),
			chromedp.Click("#verify", chromedp.ByQuery),
			chromedp.WaitVisible("#alert", chromedp.ByQuery),
		)
		if got := phone.text("#alert"); !strings.Contains(got, "not right") {
			t.Fatalf("a wrong code reads %q", got)
		}
		phone.screenshot("mfa-wrong-code")
		phone.step("type the code",
			chromedp.SetValue("#code", code, chromedp.ByQuery),
			chromedp.Click("#verify", chromedp.ByQuery),
			chromedp.WaitVisible("#notice", chromedp.ByQuery),
		)
		if got := phone.text("#org-name"); got != "Globex" {
			t.Fatalf("after the switch the page is in %q", got)
		}
		phone.screenshot("switched")
		phone.step("open Globex's documents", chromedp.Click(`nav a[href$="/documents"]`, chromedp.ByQuery), chromedp.WaitVisible("#write", chromedp.ByQuery))
		if got := phone.text("#documents"); strings.Contains(got, "Quarterly plan") {
			t.Fatalf("Acme's document shows in Globex: %q", got)
		}
	}

	// Sign out here on the phone.
	phone.step("sign out", chromedp.Navigate(app.URL+"/"), chromedp.WaitVisible("#logout", chromedp.ByQuery),
		chromedp.Click("#logout", chromedp.ByQuery), chromedp.WaitVisible("#signed-out", chromedp.ByQuery))
	if got := phone.text("#notice"); !strings.Contains(got, "this device") {
		t.Fatalf("after signing out the phone reads %q", got)
	}
	phone.screenshot("signed-out")

	// The phone signs in again; the laptop signs it out from its list of
	// devices, and the phone's next page finds it signed out. A viewer is
	// not offered "make me a viewer".
	phone.signIn(email, "Ada Lovelace", demo.RoleViewer)
	if phone.count("#demote") != 0 {
		t.Fatal("a viewer is offered to become a viewer")
	}
	laptop.step("sign the phone out", chromedp.Navigate(app.URL+"/"), chromedp.WaitVisible(`#sessions button[id^="end-"]`, chromedp.ByQuery))
	laptop.screenshot("devices")
	// Every other device of the laptop's list (B2B: the phone's session in
	// this organization, and one it left here), one button at a time.
	const others = `#sessions button[id^="end-"]`
	for n := laptop.count(others); n > 0; n-- {
		// The button's script posts to EndSessionHandler and reloads the
		// page: the list is read again once the reloaded page is loaded.
		laptop.run("sign a device out", chromedp.Click(others, chromedp.ByQuery))
		await(laptop, fmt.Sprintf("the list to show %d other devices after signing one of %d out", n-1, n),
			`document.querySelectorAll(`+strconv.Quote(others)+`).length`, func(left int) bool { return left == n-1 })
	}
	phone.step("open the documents after being signed out", chromedp.Navigate(app.URL+prefix+"/documents"), chromedp.WaitVisible("#sign-in", chromedp.ByQuery))
	if names := phone.sessionCookies(); len(names) != 0 {
		t.Fatalf("the signed-out phone keeps session cookies %v", names)
	}
	if u := phone.url(); strings.Contains(u, "/?") && !strings.Contains(u, "return_to") {
		t.Fatalf("the sign-in page's address has a stray query: %s", u)
	}

	// Sign out everywhere from the laptop.
	laptop.step("sign out everywhere", chromedp.Navigate(app.URL+"/"), chromedp.WaitVisible("#logout-all", chromedp.ByQuery))
	laptop.screenshot("before-signing-out-everywhere")
	laptop.step("sign out everywhere", chromedp.Click("#logout-all", chromedp.ByQuery), chromedp.WaitVisible("#signed-out", chromedp.ByQuery))
	if got := laptop.text("#notice"); !strings.Contains(got, "everywhere") {
		t.Fatalf("after signing out everywhere the laptop reads %q", got)
	}
	laptop.screenshot("signed-out-everywhere")

	// Both end signed out: no session cookies, and a page behind the
	// session sends them to sign in.
	for _, d := range []*device{laptop, phone} {
		if names := d.sessionCookies(); len(names) != 0 {
			t.Fatalf("%s keeps session cookies %v", d.name, names)
		}
		d.step("open the documents signed out", chromedp.Navigate(app.URL+prefix+"/documents"), chromedp.WaitVisible("#signed-out", chromedp.ByQuery))
	}
	laptop.screenshot("documents-signed-out")
	t.Logf("screenshots: %s", dir)
}

// startChromium starts a headless Chromium with a fresh profile, stopped
// when the test ends, and returns the context its tab runs in.
func startChromium(t *testing.T, browser string) context.Context {
	t.Helper()
	// Chromium's helper processes may still write to its profile for a
	// moment after it is stopped: remove it best-effort rather than with
	// t.TempDir.
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
		chromedp.ExecPath(browser),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1100, 800),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-sync", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 150*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelTab()
		cancelAlloc()
	})
	if err := chromedp.Run(ctx); err != nil { // starts the browser
		t.Fatal(err)
	}
	return ctx
}

// wrongCode is a 6-digit code other than code.
func wrongCode(code string) string {
	if code == "000000" {
		return "111111"
	}
	return "000000"
}

// NewBrowser starts a headless Chromium for t, stopped when t ends, and
// returns its context for chromedp. Without Chromium the test is skipped,
// or fails under CI (which installs it).
func NewBrowser(t *testing.T) context.Context {
	t.Helper()
	browser, err := Chromium()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%v; .ci/run installs it", err)
		}
		t.Skipf("SKIPPED the browser test: %v", err)
	}
	return startChromium(t, browser)
}
