package main

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/stytchguard/stytchguard/examples/internal/demo"
	"github.com/stytchguard/stytchguard/stytchtest"
)

func TestStory(t *testing.T) {
	app := demo.StartApp(t, run)
	demo.RunStory(t, app.URL, "")
}

func TestWrongSecretStopsTheAppAtStart(t *testing.T) {
	emu := stytchtest.NewServer()
	defer emu.Close()
	const secret = "secret-test-wrong-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	env := map[string]string{"STYTCH_PROJECT_ID": emu.ProjectID(), "STYTCH_SECRET": secret, "STYTCH_BASE_URL": emu.URL}
	err := run(context.Background(), []string{"-addr", "127.0.0.1:0"}, func(k string) string { return env[k] }, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "refused the credentials") || strings.Contains(err.Error(), secret) {
		t.Fatalf("run with a wrong secret: %v", err)
	}
}
