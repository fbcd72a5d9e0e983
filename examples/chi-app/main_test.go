package main

import (
	"strings"
	"testing"

	"github.com/stytchguard/stytchguard/examples/internal/demo"
)

func TestStory(t *testing.T) {
	app := demo.StartApp(t, run)
	org := ""
	for _, l := range app.Lines {
		if rest, ok := strings.CutPrefix(l, "demo organization "); ok {
			org, _, _ = strings.Cut(rest, " ")
		}
	}
	if !strings.HasPrefix(org, "organization-test-") {
		t.Fatalf("no demo organization printed: %v", app.Lines)
	}
	demo.RunStory(t, app.URL, "/orgs/"+org)
}
