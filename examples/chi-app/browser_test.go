package main

import (
	"testing"

	"github.com/stytchguard/stytchguard/examples/internal/demo"
)

// TestBrowser walks the app's story in headless Chromium, two devices of
// one member, through the organization switch and its MFA step; the
// screenshots go to $ARTIFACTS/chi-app.
func TestBrowser(t *testing.T) {
	demo.RunBrowserStory(t, run, "chi-app", true)
}
