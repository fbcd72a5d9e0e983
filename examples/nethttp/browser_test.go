package main

import (
	"testing"

	"github.com/stytchguard/stytchguard/examples/internal/demo"
)

// TestBrowser walks the app's story in headless Chromium, two devices of
// one person; the screenshots go to $ARTIFACTS/nethttp.
func TestBrowser(t *testing.T) {
	demo.RunBrowserStory(t, run, "nethttp", false)
}
