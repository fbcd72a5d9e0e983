package main

import (
	"testing"

	"github.com/stytchguard/stytchguard/examples/internal/demotest"
)

// TestBrowser walks the app's story in headless Chromium, two devices of
// one person; the screenshots go to $ARTIFACTS/nethttp.
func TestBrowser(t *testing.T) {
	demotest.RunBrowserStory(t, demotest.AnyAdminPort(run), "nethttp", false)
}
