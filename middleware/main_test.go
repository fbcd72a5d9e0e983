package middleware_test

import (
	"flag"
	"io"
	"log/slog"
	"os"
	"testing"
)

// TestMain keeps the default logger, which a Config without a Logger writes
// to, out of the test output unless -v asks for everything: the outages
// the tests inject would otherwise fill it. Tests that check what is logged
// give the middleware a Logger of their own.
func TestMain(m *testing.M) {
	flag.Parse()
	if !testing.Verbose() {
		slog.SetDefault(slog.New(slog.NewTextHandler(io.Discard, nil)))
	}
	os.Exit(m.Run())
}
