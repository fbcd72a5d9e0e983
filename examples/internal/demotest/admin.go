package demotest

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// RunAdminStory holds where an example serves what (nethttp, chi-app): the
// probes a load balancer sends, /readyz and /livez, on the public listener;
// /metrics only on the admin listener, on loopback, which the app names at
// start; the public listener answers 404 for /metrics. With -admin-addr
// "off" or "" there is no admin listener and no /metrics anywhere.
func RunAdminStory(t *testing.T, run RunFunc) {
	get := func(t *testing.T, u string) (int, string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	t.Run("admin listener", func(t *testing.T) {
		app := StartApp(t, AnyAdminPort(run))
		if app.AdminURL == "" {
			t.Fatalf("the app does not say where its admin listener is: %v", app.Lines)
		}
		u, err := url.Parse(app.AdminURL)
		if err != nil || !net.ParseIP(u.Hostname()).IsLoopback() || app.AdminURL == app.URL {
			t.Fatalf("admin listener at %q (%v), public at %s", app.AdminURL, err, app.URL)
		}
		if code, body := get(t, app.URL+"/metrics"); code != http.StatusNotFound {
			t.Fatalf("the public listener answers /metrics: %d %.200s", code, body)
		}
		code, body := get(t, app.AdminURL+"/metrics")
		if code != http.StatusOK || !strings.Contains(body, "stytchguard_budget_available") {
			t.Fatalf("the admin listener's /metrics: %d %.300s", code, body)
		}
		// The probes stay where the load balancer sends them.
		if code, body := get(t, app.URL+"/readyz"); code != http.StatusOK && code != http.StatusServiceUnavailable || !strings.Contains(body, `"ready"`) {
			t.Fatalf("the public listener's /readyz: %d %s", code, body)
		}
		if code, _ := get(t, app.URL+"/livez"); code != http.StatusNoContent {
			t.Fatalf("the public listener's /livez: %d", code)
		}
		for _, path := range []string{"/readyz", "/livez", "/"} {
			if code, _ := get(t, app.AdminURL+path); code != http.StatusNotFound {
				t.Fatalf("the admin listener serves %s: %d", path, code)
			}
		}
	})
	for _, off := range []string{"off", ""} {
		t.Run("-admin-addr "+`"`+off+`"`, func(t *testing.T) {
			app := StartApp(t, func(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
				return run(ctx, append(args, "-admin-addr", off), getenv, stdout)
			})
			if app.AdminURL != "" || !strings.Contains(strings.Join(app.Lines, "\n"), "admin listener off") {
				t.Fatalf("an admin listener with -admin-addr %q: %v", off, app.Lines)
			}
			if code, _ := get(t, app.URL+"/metrics"); code != http.StatusNotFound {
				t.Fatalf("/metrics on the public listener with the admin one off: %d", code)
			}
			if code, _ := get(t, app.URL+"/livez"); code != http.StatusNoContent {
				t.Fatalf("/livez: %d", code)
			}
		})
	}
}
