package main

import (
	"testing"

	"github.com/stytchguard/stytchguard/examples/internal/demo"
)

func TestStory(t *testing.T) {
	app := demo.StartApp(t, run)
	demo.RunStory(t, app.URL, "")
}
