package main

import (
	"testing"

	"github.com/stytchguard/stytchguard/examples/internal/demotest"
)

// TestBrowser walks the app's story in headless Chromium, two devices of
// one member, through the organization switch and its MFA step; the
// screenshots go to $ARTIFACTS/chi-app.
func TestBrowser(t *testing.T) {
	demotest.RunBrowserStory(t, demotest.AnyAdminPort(run), "chi-app", true)
}
